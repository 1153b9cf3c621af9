using CloudDeck.GrainInterfaces.Domains;

namespace CloudDeck.Grains.Domains;

public sealed class DomainState
{
    /// <summary>The project ("org/project") the domain serves; null when nobody holds it.</summary>
    public string? ProjectKey { get; set; }

    /// <summary>The project's production host, whose alias the domain serves.</summary>
    public string? ProductionHost { get; set; }

    /// <summary>The value the TXT record must hold; new each time the domain is added.</summary>
    public string Token { get; set; } = "";

    public DateTimeOffset CreatedAt { get; set; }

    public bool Verified { get; set; }

    public DateTimeOffset? VerifiedAt { get; set; }

    public DateTimeOffset? CheckedAt { get; set; }

    public string? VerificationProblem { get; set; }

    public bool Hsts { get; set; }

    public string Redirect { get; set; } = DomainRedirects.None;

    /// <summary>The chain (PEM), sealed with the secrets key, bound to the domain.</summary>
    public string? SealedChain { get; set; }

    /// <summary>The certificate's key (PKCS#8 PEM), sealed with the secrets key, bound to the domain.</summary>
    public string? SealedKey { get; set; }

    public DateTimeOffset? NotBefore { get; set; }

    public DateTimeOffset? NotAfter { get; set; }

    public string? Issuer { get; set; }

    /// <summary>Grows with every certificate issued, also across removals, so an edge never keeps an older one.</summary>
    public long CertificateVersion { get; set; }

    public string CertificateStatus { get; set; } = CertificateStatuses.None;

    public string? CertificateError { get; set; }

    public int FailedAttempts { get; set; }

    public DateTimeOffset? NextAttemptAt { get; set; }
}
