namespace CloudDeck.GrainInterfaces.Accounts;

/// <summary>
/// Who operates this CloudDeck installation (its metrics, the Orleans dashboard): a role of the platform, not of any
/// organization, so an organization's owner is not an operator by being one. One grain, keyed <see cref="Key"/>.
/// Operators are the verified addresses in <c>CloudDeck:Operators:Emails</c>; with none configured, the first account
/// signed up on a fresh embedded install.
/// </summary>
[Alias("clouddeck.IPlatformOperatorsGrain")]
public interface IPlatformOperatorsGrain : IGrainWithStringKey
{
    public const string Key = "platform";

    /// <summary>Whether <paramref name="caller"/> (a session, or an API token with the admin scope) is an operator.</summary>
    [ReadOnly]
    Task<bool> IsOperator(Caller caller);

    /// <summary>A fresh embedded install started: the next account signed up becomes its operator. Once only; later calls do nothing.</summary>
    Task OpenFirstAccountSlot();

    /// <summary>Sign-up offers each new account; the first one after <see cref="OpenFirstAccountSlot"/> takes the role. True when it did.</summary>
    Task<bool> OfferFirstAccount(string userId);
}
