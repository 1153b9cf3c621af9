using System.Security.Cryptography;
using System.Text;
using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Organizations;
using Microsoft.Extensions.Logging;

namespace CloudDeck.Grains.Artifacts;

/// <summary>
/// Counts what an organization holds in the artifact store against its plan, and lets go of what no deployment of it
/// references after the grace period (see <see cref="IOrganizationStorageGrain"/>). Its record is written before the
/// organization's grants on disk are made and after they are dropped, so a crash in between leaves a record without a
/// grant (counted until its grace ends) or a grant without a record (found and counted by the next pass), never a
/// content that is used and uncounted.
/// </summary>
/// <param name="artifacts">Optional so that silos without a store (account tests) host every other grain; storing needs it.</param>
public sealed partial class OrganizationStorageGrain(
    [PersistentState("organization-storage")] IPersistentState<OrganizationStorageState> state,
    TimeProvider clock,
    ILogStreamProvider streams,
    ILogger<OrganizationStorageGrain> logger,
    IArtifactStore? artifacts = null,
    ArtifactOptions? options = null) : Grain, IOrganizationStorageGrain, IRemindable
{
    private readonly ArtifactOptions _options = options ?? new ArtifactOptions();

    /// <summary>Every content's size, summed when the grain activates and kept with each change.</summary>
    private long _bytes;

    private OrganizationStorageState Storage => state.State;

    private string Organization => this.GetPrimaryKeyString();

    private IArtifactStore Store => artifacts ?? throw new ConflictException("This server has no artifact store, so it stores no files.");

    private IOrganizationQuotaGrain Quota => GrainFactory.GetGrain<IOrganizationQuotaGrain>(Organization);

    private DateTimeOffset Now => clock.GetUtcNow();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _bytes = Storage.Contents.Values.Sum(c => c.Size);
        return Task.CompletedTask;
    }

    public async Task<StorageHold> Hold(Caller uploader, IReadOnlyList<StoredContent> contents)
    {
        var store = Store;
        var distinct = Distinct(contents.Select(c => (c.Sha256, (long?)c.Size)));
        if (distinct.Count == 0) return new StorageHold([], 0);
        var added = distinct.Where(c => !Storage.Contents.ContainsKey(c.Sha256)).ToList();
        var addedBytes = added.Sum(c => c.Size!.Value);
        // Both refusals come before anything changes: a refused upload counts nothing and writes nothing.
        if (addedBytes > 0) await Quota.EnsureRoomFor(QuotaLimits.StorageBytes, _bytes, addedBytes);
        var allowance = uploader.EmailVerified || addedBytes == 0 ? null : GrainFactory.GetGrain<IUnverifiedAllowanceGrain>(uploader.UserId);
        if (allowance is not null) await allowance.Use(addedBytes, 0);
        try
        {
            var now = Now;
            Accrue(now);
            foreach (var (sha256, size) in added) Storage.Contents[sha256] = new StoredContentRecord { Size = size!.Value, UnreferencedSince = now };
            // Uploaded again: the grace period starts again, so an upload session that resends a file keeps it.
            var restarted = false;
            foreach (var (sha256, _) in distinct)
            {
                if (Storage.Contents[sha256] is not { References: 0 } held || held.UnreferencedSince == now) continue;
                held.UnreferencedSince = now;
                restarted = true;
            }

            _bytes += addedBytes;
            if (added.Count > 0 || restarted) await WriteAsync();
        }
        catch
        {
            if (allowance is not null) await allowance.GiveBack(addedBytes, 0);
            throw;
        }

        await store.GrantAsync(Organization, distinct.Select(c => c.Sha256), CancellationToken.None);
        await EnsureReminderAsync();
        return new StorageHold([.. added.Select(c => c.Sha256)], addedBytes);
    }

    public async Task Forget(Caller uploader, StorageHold hold)
    {
        var store = Store;
        long removed = 0;
        var forgotten = new List<string>();
        Accrue(Now);
        foreach (var sha256 in hold.Added.Distinct(StringComparer.Ordinal))
        {
            // A deployment that took it meanwhile found it stored: it stays.
            if (!Storage.Contents.TryGetValue(sha256, out var record) || record.References > 0) continue;
            Storage.Contents.Remove(sha256);
            removed += record.Size;
            forgotten.Add(sha256);
        }

        if (forgotten.Count == 0) return;
        _bytes -= removed;
        await WriteAsync();
        // Only the grants: the failed upload published no bytes, and bytes someone else stored are not this upload's to delete.
        foreach (var sha256 in forgotten) store.Revoke(Organization, sha256);

        if (!uploader.EmailVerified) await GrainFactory.GetGrain<IUnverifiedAllowanceGrain>(uploader.UserId).GiveBack(removed, 0);
    }

    public async Task Reference(string deploymentId, IReadOnlyList<ManifestFile> files, IReadOnlyList<string>? replacing)
    {
        var taken = Distinct(files.Select(f => (f.Sha256, (long?)f.Size)));
        var fingerprint = Fingerprint(taken.Select(c => c.Sha256));
        Storage.Deployments.TryGetValue(deploymentId, out var held);
        if (held == fingerprint) return;
        var added = taken.Where(c => !Storage.Contents.ContainsKey(c.Sha256)).ToList();
        var addedBytes = added.Sum(c => c.Size!.Value);
        // A build's output is counted here (its build stored it): past the plan, the deployment fails and counts nothing.
        if (addedBytes > 0) await Quota.EnsureRoomFor(QuotaLimits.StorageBytes, _bytes, addedBytes);
        var now = Now;
        Accrue(now);
        foreach (var (sha256, size) in added) Storage.Contents[sha256] = new StoredContentRecord { Size = size!.Value };
        _bytes += addedBytes;
        foreach (var (sha256, _) in taken)
        {
            var record = Storage.Contents[sha256];
            record.References++;
            record.UnreferencedSince = null;
        }

        if (held is not null) Unreference(deploymentId, held, replacing, now);
        Storage.Deployments[deploymentId] = fingerprint;
        await WriteAsync();
        // Its grants too: a content a deployment serves must never look unheld to the store, whoever uploaded it.
        if (artifacts is not null) await artifacts.GrantAsync(Organization, taken.Select(c => c.Sha256), CancellationToken.None);
        await EnsureReminderAsync();
    }

    public async Task Release(string deploymentId, IReadOnlyList<string> sha256s)
    {
        if (!Storage.Deployments.TryGetValue(deploymentId, out var held)) return;
        var now = Now;
        Accrue(now);
        Unreference(deploymentId, held, sha256s, now);
        Storage.Deployments.Remove(deploymentId);
        await WriteAsync();
    }

    public Task<StorageUsageView> GetUsage()
    {
        var unreferenced = Storage.Contents.Values.Where(c => c.References == 0).ToList();
        return Task.FromResult(new StorageUsageView(Organization, _bytes, Storage.Contents.Count, unreferenced.Sum(c => c.Size), unreferenced.Count));
    }

    /// <summary>Takes back the references of <paramref name="sha256s"/>, if they are what the deployment's fingerprint says it holds.</summary>
    private void Unreference(string deploymentId, string held, IReadOnlyList<string>? sha256s, DateTimeOffset now)
    {
        var released = sha256s?.Distinct(StringComparer.Ordinal).ToList();
        if (released is null || Fingerprint(released) != held)
        {
            // Kept rather than guessed: a content counted too long costs bytes, one let go too early breaks a site.
            LogReferencesNotReleased(logger, Organization, deploymentId);
            return;
        }

        foreach (var sha256 in released)
        {
            if (!Storage.Contents.TryGetValue(sha256, out var record) || record.References == 0) continue;
            if (--record.References == 0) record.UnreferencedSince = now;
        }
    }

    /// <summary>Each hash once (the first size given), every hash and size checked.</summary>
    private static List<(string Sha256, long? Size)> Distinct(IEnumerable<(string Sha256, long? Size)> contents)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var distinct = new List<(string, long?)>();
        foreach (var (sha256, size) in contents)
        {
            ArtifactHashes.Require(sha256);
            if (size is < 0) throw new InvalidFieldException("size", "must not be negative");
            if (seen.Add(sha256)) distinct.Add((sha256, size ?? 0));
        }

        return distinct;
    }

    /// <summary>Which hashes, in any order and each once: the first 16 bytes of the SHA-256 of the sorted list.</summary>
    internal static string Fingerprint(IEnumerable<string> sha256s)
    {
        var sorted = sha256s.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(string.Join('\n', sorted))).AsSpan(0, 16));
    }

    /// <summary>On a failed write the memory is ahead of the store: the next activation reads the store again.</summary>
    private async Task WriteAsync()
    {
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            DeactivateOnIdle();
            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Storage of {Organization}: deployment {DeploymentId} released other contents than it referenced; its references are kept")]
    private static partial void LogReferencesNotReleased(ILogger logger, string organization, string deploymentId);
}
