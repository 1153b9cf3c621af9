using CloudDeck.GrainInterfaces.Accounts;

namespace CloudDeck.GrainInterfaces.Domains;

/// <summary>
/// One custom domain (the grain key: a lower-case host name such as <c>shop.example.com</c>): which project it serves,
/// whether its owner proved control of it (a TXT record, or the name already pointing at the edge), and its
/// certificate. A domain belongs to one project at a time; another tenant asking for it gets a conflict.
/// </summary>
[Alias("clouddeck.IDomainGrain")]
public interface IDomainGrain : IGrainWithStringKey
{
    /// <summary>Claims the domain for the project (the caller needs 'deploy' there) and checks its DNS once.</summary>
    Task<DomainView> Add(Caller caller, string projectKey, DomainSettings settings);

    [ReadOnly]
    Task<DomainView> Get(Caller caller, string projectKey);

    /// <summary>Changes HSTS and the www ↔ apex redirect.</summary>
    Task<DomainView> Update(Caller caller, string projectKey, DomainSettings settings);

    /// <summary>Checks the DNS now (and, once verified, starts the certificate order).</summary>
    Task<DomainView> Verify(Caller caller, string projectKey);

    /// <summary>Stops serving the domain and frees it for anyone.</summary>
    Task Remove(Caller caller, string projectKey);

    /// <summary>
    /// What the domain's reminder does: a DNS check while unverified, a certificate order once verified and none is
    /// held (or the held one is within the renewal window), each no earlier than its back-off allows.
    /// </summary>
    Task<DomainView?> Check();

    /// <summary>The key authorization for an ACME HTTP-01 token of a pending order, or null.</summary>
    [AlwaysInterleave]
    Task<string?> GetChallengeAnswer(string token);

    /// <summary>The certificate chain and key (PEM) the edge serves for the domain, or null while it has none.</summary>
    [AlwaysInterleave]
    Task<DomainCertificate?> GetCertificate();

    /// <summary>The project deleted: stop serving and free the domain, whatever the caller.</summary>
    Task Release(string projectKey);
}

/// <summary>What a user can set on a domain. Null leaves a setting as it is.</summary>
[GenerateSerializer, Immutable, Alias("clouddeck.DomainSettings")]
public sealed record DomainSettings(
    [property: Id(0)] bool? Hsts = null,
    [property: Id(1)] string? Redirect = null);

/// <summary>Where requests for the domain go: served, or redirected to its www or apex twin.</summary>
public static class DomainRedirects
{
    public const string None = "none";

    /// <summary>The bare domain redirects to <c>www.</c> + itself (this domain is the apex).</summary>
    public const string ToWww = "to_www";

    /// <summary><c>www.example.com</c> redirects to <c>example.com</c> (this domain starts with <c>www.</c>).</summary>
    public const string ToApex = "to_apex";

    public static readonly IReadOnlyList<string> All = [None, ToWww, ToApex];
}

public static class DomainStatuses
{
    /// <summary>Waiting for the TXT record or for the name to point at the edge.</summary>
    public const string Pending = "pending";

    public const string Verified = "verified";
}

public static class CertificateStatuses
{
    /// <summary>No order yet (the domain is not verified).</summary>
    public const string None = "none";

    /// <summary>An order is under way or waits for its next attempt.</summary>
    public const string Pending = "pending";

    public const string Issued = "issued";

    /// <summary>The last attempt failed; <see cref="CertificateView.Error"/> says why and <see cref="CertificateView.NextAttemptAt"/> when it is tried again.</summary>
    public const string Failed = "failed";
}

[GenerateSerializer, Immutable, Alias("clouddeck.DomainView")]
public sealed record DomainView(
    [property: Id(0)] string Domain,
    [property: Id(1)] string Project,
    [property: Id(2)] string Status,
    [property: Id(3)] DomainVerificationView Verification,
    [property: Id(4)] CertificateView Certificate,
    [property: Id(5)] bool Hsts,
    [property: Id(6)] string Redirect,
    [property: Id(7)] DateTimeOffset CreatedAt,
    [property: Id(8)] DateTimeOffset? VerifiedAt);

/// <summary>How to prove control: a TXT record at <see cref="TxtName"/> with <see cref="TxtValue"/>, or the name pointing at <see cref="Target"/>.</summary>
[GenerateSerializer, Immutable, Alias("clouddeck.DomainVerificationView")]
public sealed record DomainVerificationView(
    [property: Id(0)] string TxtName,
    [property: Id(1)] string TxtValue,
    [property: Id(2)] string Target,
    [property: Id(3)] DateTimeOffset? CheckedAt,
    [property: Id(4)] string? Problem);

[GenerateSerializer, Immutable, Alias("clouddeck.CertificateView")]
public sealed record CertificateView(
    [property: Id(0)] string Status,
    [property: Id(1)] string? Issuer,
    [property: Id(2)] DateTimeOffset? NotBefore,
    [property: Id(3)] DateTimeOffset? NotAfter,
    [property: Id(4)] DateTimeOffset? RenewAt,
    [property: Id(5)] string? Error,
    [property: Id(6)] int FailedAttempts,
    [property: Id(7)] DateTimeOffset? NextAttemptAt);

/// <summary>A certificate as the edge serves it: the leaf first, then its intermediates; the key (PKCS#8 PEM).</summary>
[GenerateSerializer, Immutable, Alias("clouddeck.DomainCertificate")]
public sealed record DomainCertificate(
    [property: Id(0)] string Domain,
    [property: Id(1)] string ChainPem,
    [property: Id(2)] string KeyPem,
    [property: Id(3)] DateTimeOffset NotAfter,
    [property: Id(4)] long Version);
