namespace CloudDeck.GrainInterfaces.Organizations;

/// <summary>
/// What an account whose email is not verified may still upload and deploy, keyed by user id: a small allowance
/// (<c>CloudDeck:Accounts:UnverifiedStorageAllowanceMb</c>, <c>UnverifiedDeployments</c>) for the whole life of the
/// account, across its organizations, so a throwaway sign-up cannot store or serve much. Asked only for callers whose
/// access token says the email is unverified; a verified caller is never counted.
/// </summary>
[Alias("clouddeck.IUnverifiedAllowanceGrain")]
public interface IUnverifiedAllowanceGrain : IGrainWithStringKey
{
    /// <summary>Counts new bytes and deployments, or refuses (counting nothing) with <see cref="ForbiddenException"/> telling the user to verify.</summary>
    Task Use(long bytes, int deployments);

    /// <summary>Gives back what a refused or failed action counted.</summary>
    Task GiveBack(long bytes, int deployments);

    [ReadOnly]
    Task<UnverifiedAllowanceView> Get();
}

/// <param name="MaxBytes">0: nothing may be uploaded before the email is verified.</param>
[GenerateSerializer, Immutable, Alias("clouddeck.UnverifiedAllowanceView")]
public sealed record UnverifiedAllowanceView(long BytesUsed, long MaxBytes, int DeploymentsUsed, int MaxDeployments);
