namespace CloudDeck.Grains.Accounts;

/// <summary>
/// Settings under <c>CloudDeck:Accounts</c>: how often one client address (an IPv6 client's /64) and one account may
/// sign up, ask for password resets and create organizations, and how many organizations one user may own. Counted
/// by grains, so each limit holds across every API process of a cluster. A rate of 0 is no limit.
/// </summary>
public sealed class AccountLimitOptions
{
    public const string Section = "CloudDeck:Accounts";

    /// <summary>The sliding window every rate below is counted in.</summary>
    public TimeSpan RateWindow { get; set; } = TimeSpan.FromHours(1);

    public int SignUpsPerAddress { get; set; } = 10;

    /// <summary>Sign-ups naming one email address, registered or not: each sends that address an email.</summary>
    public int SignUpsPerEmail { get; set; } = 3;

    public int PasswordResetsPerAddress { get; set; } = 10;

    /// <summary>Reset requests naming one email address, registered or not (each sends a registered one an email).</summary>
    public int PasswordResetsPerEmail { get; set; } = 3;

    public int OrganizationCreationsPerAddress { get; set; } = 20;

    public int OrganizationCreationsPerUser { get; set; } = 10;

    /// <summary>
    /// Organizations one user may own at once, the personal one included: each comes with a free plan's quotas. 0 is
    /// no limit.
    /// </summary>
    public int MaxOrganizationsPerUser { get; set; } = 10;

    /// <exception cref="InvalidOperationException">A setting is wrong; the message names it.</exception>
    public void Validate()
    {
        if (RateWindow <= TimeSpan.Zero) throw Invalid(nameof(RateWindow), $"must be a positive time span such as 01:00:00 (was {RateWindow})");
        foreach (var (name, value) in new[]
                 {
                     (nameof(SignUpsPerAddress), SignUpsPerAddress), (nameof(SignUpsPerEmail), SignUpsPerEmail),
                     (nameof(PasswordResetsPerAddress), PasswordResetsPerAddress), (nameof(PasswordResetsPerEmail), PasswordResetsPerEmail),
                     (nameof(OrganizationCreationsPerAddress), OrganizationCreationsPerAddress),
                     (nameof(OrganizationCreationsPerUser), OrganizationCreationsPerUser), (nameof(MaxOrganizationsPerUser), MaxOrganizationsPerUser),
                 })
        {
            if (value < 0) throw Invalid(name, $"must be 0 (no limit) or more, such as 10 (was {value})");
        }
    }

    private static InvalidOperationException Invalid(string name, string problem) => new($"{Section}:{name} {problem}.");
}
