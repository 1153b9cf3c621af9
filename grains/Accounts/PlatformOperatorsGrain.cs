using CloudDeck.GrainInterfaces.Accounts;

namespace CloudDeck.Grains.Accounts;

public sealed class PlatformOperatorsState
{
    /// <summary>Set once, when a fresh embedded install first started; never set on an install that had data.</summary>
    public bool FirstAccountSlotOpened { get; set; }

    public string? FirstAccountUserId { get; set; }
}

/// <summary>
/// The platform-operator role. Configured emails decide when there are any (and then only a verified address counts,
/// or anyone could sign up with the operator's address); otherwise the account that took the first-account slot.
/// </summary>
/// <param name="options">Optional so that silos configured without <c>CloudDeck:Operators</c> (tests) have no operator.</param>
public sealed class PlatformOperatorsGrain(
    [PersistentState("operators")] IPersistentState<PlatformOperatorsState> state,
    OperatorOptions? options = null) : Grain, IPlatformOperatorsGrain
{
    private IReadOnlySet<string> Emails => options?.NormalizedEmails ?? new HashSet<string>();

    public Task<bool> IsOperator(Caller caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        // A read-only token is not enough to read the whole platform's figures.
        if (!caller.HasScope(ApiTokenScopes.Admin)) return Task.FromResult(false);
        var isOperator = Emails.Count > 0
            ? caller.EmailVerified && Emails.Contains(EmailAddresses.Normalize(caller.Email))
            : state.State.FirstAccountUserId is { } first && first == caller.UserId;
        return Task.FromResult(isOperator);
    }

    public async Task OpenFirstAccountSlot()
    {
        if (state.State.FirstAccountSlotOpened) return;
        state.State.FirstAccountSlotOpened = true;
        await state.WriteStateAsync();
    }

    public async Task<bool> OfferFirstAccount(string userId)
    {
        if (!state.State.FirstAccountSlotOpened || state.State.FirstAccountUserId is not null || Emails.Count > 0) return false;
        state.State.FirstAccountUserId = userId;
        await state.WriteStateAsync();
        return true;
    }
}
