namespace CloudDeck.Grains.Sandbox;

/// <summary>
/// Hands out the uids of <c>CloudDeck:Sandbox:FirstUid</c>… one per sandbox at a time, lowest free first. A uid of its
/// own is what makes RLIMIT_NPROC a per-build limit (the kernel counts processes per real uid) and what keeps one
/// build's files and processes out of another's reach even outside the namespaces. A uid is held with a lock on a file
/// of its own (flock, through <see cref="FileShare.None"/>), so silos in other processes on the machine never get the
/// same one, and the kernel lets go of it when a silo dies; processes a dead silo left under a uid are killed when the
/// uid is handed out again.
/// </summary>
internal sealed class SandboxUids(int first, int count)
{
    private static readonly string LockDirectory = CreateLockDirectory();

    private readonly Dictionary<int, FileStream> _held = [];

    public int Rent()
    {
        for (var uid = first; uid < first + count; uid++)
        {
            lock (_held)
            {
                if (_held.ContainsKey(uid)) continue;
            }

            FileStream held;
            try
            {
                held = new FileStream(Path.Combine(LockDirectory, uid.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                    FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1);
            }
            catch (IOException)
            {
                continue;
            }

            lock (_held) _held[uid] = held;
            UidProcesses.KillAll(uid);
            return uid;
        }

        throw new SandboxUnavailableException($"All {count} sandbox uids from {first} are in use (CloudDeck:Sandbox:UidCount).");
    }

    public void Return(int uid)
    {
        FileStream? held;
        lock (_held)
        {
            if (!_held.Remove(uid, out held)) return;
        }

        held.Dispose();
    }

    private static string CreateLockDirectory()
    {
        // /run is root's and cleared at boot; elsewhere a directory of this user under the temp directory.
        var directory = Directory.Exists("/run") && UidProcesses.EffectiveUid() == 0
            ? "/run/clouddeck-sandbox-uids"
            : Path.Combine(Path.GetTempPath(), $"clouddeck-sandbox-uids-{UidProcesses.EffectiveUid()}");
        Directory.CreateDirectory(directory);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return directory;
    }
}
