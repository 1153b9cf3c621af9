namespace CloudDeck.Grains.Accounts;

/// <summary>
/// A secret kept in a file under the data directory: read it, or create it once with mode 0600. Used for every
/// generated key (the access-token HMAC key, the license signing key).
/// </summary>
public static class KeyFile
{
    /// <summary>The file's text, trimmed; when it does not exist, <paramref name="generate"/>'s text is written first.</summary>
    public static string ReadOrCreate(string path, Func<string> generate)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (!File.Exists(path))
        {
            try
            {
                var fresh = generate();
                // CreateNew: of two processes starting at once on one directory, one writes and both read its key.
                var create = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
                if (!OperatingSystem.IsWindows()) create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                using var writer = new StreamWriter(path, create);
                writer.Write(fresh);
            }
            catch (IOException) when (File.Exists(path))
            {
            }
        }

        return File.ReadAllText(path).Trim();
    }
}
