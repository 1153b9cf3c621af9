namespace CloudDeck.GrainInterfaces.Domains;

/// <summary>
/// The platform's ACME account at one directory (the grain key: the directory URL): one P-256 key, made on first use
/// and stored encrypted, and the account URL the server gave it. Every domain's orders are signed with it, as
/// certificate authorities ask (Let's Encrypt limits how many accounts an address may make).
/// </summary>
[Alias("clouddeck.IAcmeAccountGrain")]
public interface IAcmeAccountGrain : IGrainWithStringKey
{
    Task<AcmeAccountKey> GetOrCreate();

    Task SetAccountUrl(string? accountUrl);
}

/// <summary>The account key (PKCS#8 PEM) and, once registered, the account's URL.</summary>
[GenerateSerializer, Immutable, Alias("clouddeck.AcmeAccountKey")]
public sealed record AcmeAccountKey([property: Id(0)] string KeyPem, [property: Id(1)] string? AccountUrl);
