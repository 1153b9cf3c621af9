using CloudDeck.GrainInterfaces.Accounts;
using Microsoft.Extensions.Configuration;

namespace CloudDeck.Grains.Accounts;

/// <summary>Settings under <c>CloudDeck:Operators:*</c>: who operates the platform, and whether the Orleans dashboard runs.</summary>
public sealed class OperatorOptions
{
    public const string Section = "CloudDeck:Operators";

    /// <summary>Operators' email addresses (verified ones only count). None: the first account of a fresh embedded install.</summary>
    public string[] Emails { get; set; } = [];

    /// <summary>Orleans' dashboard on every silo (its grain call profiler costs a little per call), shown to operators at /_operator/dashboard.</summary>
    public bool Dashboard { get; set; } = true;

    public IReadOnlySet<string> NormalizedEmails => _normalized ??= Emails.Select(EmailAddresses.Normalize).ToHashSet(StringComparer.Ordinal);

    private IReadOnlySet<string>? _normalized;

    public static OperatorOptions Read(IConfiguration configuration)
    {
        var options = configuration.GetSection(Section).Get<OperatorOptions>() ?? new OperatorOptions();
        for (var i = 0; i < options.Emails.Length; i++)
        {
            var email = options.Emails[i];
            if (string.IsNullOrWhiteSpace(email) || email.Trim().IndexOf('@') is < 1 || email.Trim().EndsWith('@'))
            {
                throw new InvalidOperationException(
                    $"{Section}:Emails:{i} must be an email address (was '{email}'; for example CloudDeck__Operators__Emails__0=ops@example.com).");
            }
        }

        return options;
    }
}
