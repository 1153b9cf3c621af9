using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Deployments;

namespace CloudDeck.GrainInterfaces.Organizations;

/// <summary>
/// What an organization stores in the artifact store, keyed by organization slug: each content it holds (uploaded, or
/// produced by its builds) counted once with its size, however many of its deployments reference it, against the plan's
/// <see cref="QuotaLimits.StorageBytes"/>. The bytes on disk stay deduplicated across organizations; each organization is
/// charged for the contents it holds. A content no deployment of the organization references is let go after the grace
/// period (<c>CloudDeck:Artifacts:UnreferencedGracePeriod</c>), and its bytes leave the disk when no organization holds
/// it any more. One activation serializes every call, so two uploads at once cannot both take the last bytes.
/// Called by the API's upload routes (after the organization authorized the caller) and by deployment grains.
/// </summary>
[Alias("clouddeck.IOrganizationStorageGrain")]
public interface IOrganizationStorageGrain : IGrainWithStringKey
{
    /// <summary>
    /// Takes these contents into the organization before their bytes are written: the ones it does not hold yet are
    /// counted (refused, counting nothing, with <see cref="PlanLimitExceededException"/> past the plan's storage, or
    /// <see cref="ForbiddenException"/> past an unverified uploader's allowance), and each gets the organization's grant.
    /// A content held already starts its grace period again. When writing the bytes fails, <see cref="Forget"/> undoes it.
    /// </summary>
    Task<StorageHold> Hold(Caller uploader, IReadOnlyList<StoredContent> contents);

    /// <summary>Undoes a <see cref="Hold"/> whose bytes were not stored: the contents it added go, uncounted, unless a deployment took them since.</summary>
    Task Forget(Caller uploader, StorageHold hold);

    /// <summary>
    /// The deployment now references exactly <paramref name="files"/> (replacing <paramref name="replacing"/>, what it
    /// referenced before, if anything). A content the organization is not charged for yet is counted now (a build's
    /// output), refused with <see cref="PlanLimitExceededException"/> past the plan's storage. Repeating a call changes nothing.
    /// </summary>
    Task Reference(string deploymentId, IReadOnlyList<ManifestFile> files, IReadOnlyList<string>? replacing);

    /// <summary>The deployment references nothing any more (deleted, failed, canceled): <paramref name="sha256s"/> is what it referenced.</summary>
    Task Release(string deploymentId, IReadOnlyList<string> sha256s);

    /// <summary>
    /// One collection pass now (the reminder runs one every <c>CloudDeck:Artifacts:CollectionInterval</c>): grants no
    /// deployment has referenced for the grace period go, and their bytes when no organization holds them; usage is metered.
    /// </summary>
    Task<StorageCollection> Collect();

    [ReadOnly]
    Task<StorageUsageView> GetUsage();
}

/// <summary>A content by its SHA-256 and size in bytes.</summary>
[GenerateSerializer, Immutable, Alias("clouddeck.StoredContent")]
public sealed record StoredContent(string Sha256, long Size);

/// <summary>What a <see cref="IOrganizationStorageGrain.Hold"/> counted: the contents the organization did not hold before, and their bytes.</summary>
[GenerateSerializer, Immutable, Alias("clouddeck.StorageHold")]
public sealed record StorageHold(IReadOnlyList<string> Added, long AddedBytes);

/// <summary>What one collection pass did.</summary>
[GenerateSerializer, Immutable, Alias("clouddeck.StorageCollection")]
public sealed record StorageCollection(int GrantsRemoved, long BytesReleased, int ContentsDeleted, int GrantsAdopted);

/// <param name="Bytes">What the organization is charged for: every content it holds, once.</param>
/// <param name="UnreferencedBytes">Of those, held by no deployment (waiting out the grace period, or an upload not deployed yet).</param>
[GenerateSerializer, Immutable, Alias("clouddeck.StorageUsageView")]
public sealed record StorageUsageView(string Organization, long Bytes, int Contents, long UnreferencedBytes, int UnreferencedContents);
