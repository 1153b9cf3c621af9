namespace CloudDeck.GrainInterfaces.Domains;

/// <summary>
/// Every custom domain of the platform (key 0) with what the edge needs to route it: the project's production host,
/// whether it is verified, its certificate's version, HSTS and the www ↔ apex redirect. Each domain grain writes its
/// own entry here; every change is appended to <see cref="DomainChanges"/>, so each edge updates its table and its
/// certificates without a restart. Small by nature (one entry per custom domain), so one grain holds it.
/// </summary>
[Alias("clouddeck.IDomainRegistryGrain")]
public interface IDomainRegistryGrain : IGrainWithIntegerKey
{
    /// <summary>Stores the entry (replacing the domain's earlier one) and announces it.</summary>
    Task Put(DomainRoute route);

    /// <summary>Forgets the domain if <paramref name="projectKey"/> holds it, and announces that.</summary>
    Task Remove(string domain, string projectKey);

    [ReadOnly]
    Task<IReadOnlyList<DomainRoute>> List();

    [ReadOnly]
    Task<IReadOnlyList<string>> ListProject(string projectKey);
}

/// <summary>
/// One domain as the edge routes it. <see cref="CertificateVersion"/> is 0 while it has no certificate and grows with each
/// one issued, so an edge fetches a certificate only when it changed.
/// </summary>
[GenerateSerializer, Immutable, Alias("clouddeck.DomainRoute")]
public sealed record DomainRoute(
    [property: Id(0)] string Domain,
    [property: Id(1)] string ProjectKey,
    [property: Id(2)] string ProductionHost,
    [property: Id(3)] bool Verified,
    [property: Id(4)] long CertificateVersion,
    [property: Id(5)] bool Hsts,
    [property: Id(6)] string Redirect);

/// <summary>A change to <see cref="IDomainRegistryGrain"/>: the new entry, or <see cref="Route"/> null when the domain was removed.</summary>
[GenerateSerializer, Immutable, Alias("clouddeck.DomainChange")]
public sealed record DomainChange([property: Id(0)] string Domain, [property: Id(1)] DomainRoute? Route);

/// <summary>The stream every edge follows (namespace, key) to keep its domain table and certificates current.</summary>
public static class DomainChanges
{
    public const string Namespace = "edge-domains";
    public const string Key = "all";
}
