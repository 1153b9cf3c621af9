using CloudDeck.GrainInterfaces.Deployments;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CloudDeck.Grains.Artifacts;

/// <summary>Settings under <c>CloudDeck:Artifacts</c>.</summary>
public sealed class ArtifactOptions
{
    public const string Section = "CloudDeck:Artifacts";

    /// <summary>
    /// The directory files are stored in; default <c>&lt;data dir&gt;/artifacts</c>. In cluster mode every silo and
    /// API process must see the same directory (a shared mount): files are immutable, so no locking is needed.
    /// </summary>
    public string? Path { get; set; }

    /// <summary>The largest file one upload may carry.</summary>
    public long MaxFileBytes { get; set; } = 100L * 1024 * 1024;

    /// <summary>The largest body of one batched upload (<c>POST …/files/batch</c>), all its files together.</summary>
    public long MaxBatchBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// How long an organization keeps a content that none of its deployments references (an upload not deployed yet, or
    /// the files of a deleted deployment) before its grant goes, and with the last grant the bytes.
    /// </summary>
    public TimeSpan UnreferencedGracePeriod { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How often each organization's storage grain runs a collection pass (and meters storage); at least a minute.</summary>
    public TimeSpan CollectionInterval { get; set; } = TimeSpan.FromHours(1);

    /// <exception cref="InvalidOperationException">A setting is wrong; the message names it.</exception>
    public static ArtifactOptions Read(IConfiguration configuration, string dataDirectory)
    {
        var options = new ArtifactOptions();
        try
        {
            configuration.GetSection(Section).Bind(options);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"{Section} could not be read ({e.Message}).", e);
        }

        if (string.IsNullOrWhiteSpace(options.Path)) options.Path = System.IO.Path.Combine(dataDirectory, "artifacts");
        if (options.Path.Any(char.IsControl)) throw new InvalidOperationException($"{Section}:Path must be a directory path.");
        options.Path = System.IO.Path.GetFullPath(options.Path);
        if (options.MaxFileBytes < 1) throw new InvalidOperationException($"{Section}:MaxFileBytes must be at least 1 (was {options.MaxFileBytes}).");
        if (options.MaxBatchBytes < 1) throw new InvalidOperationException($"{Section}:MaxBatchBytes must be at least 1 (was {options.MaxBatchBytes}).");
        if (options.UnreferencedGracePeriod < TimeSpan.Zero)
        {
            throw new InvalidOperationException($"{Section}:UnreferencedGracePeriod must be a time span of 0 or more, for example 1.00:00:00 (was {options.UnreferencedGracePeriod}).");
        }

        // Orleans' reminders tick at most once a minute.
        if (options.CollectionInterval < TimeSpan.FromMinutes(1))
        {
            throw new InvalidOperationException($"{Section}:CollectionInterval must be at least a minute, for example 01:00:00 (was {options.CollectionInterval}).");
        }
        return options;
    }
}

public static class ArtifactServices
{
    /// <summary>The artifact store, for grains (the build executor) and the API (uploads, the edge) alike.</summary>
    public static IServiceCollection AddCloudDeckArtifacts(this IServiceCollection services, IConfiguration configuration, string dataDirectory)
    {
        var options = ArtifactOptions.Read(configuration, dataDirectory);
        services.TryAddSingleton(options);
        services.TryAddSingleton<IArtifactStore>(_ => new LocalArtifactStore(options.Path!));
        return services;
    }
}

/// <summary>Hash checks shared by the store and its callers.</summary>
internal static class ArtifactHashes
{
    public static void Require(string sha256, string field = "sha256")
    {
        if (!ManifestValidation.IsSha256(sha256)) throw new GrainInterfaces.InvalidFieldException(field, ManifestValidation.HashRule);
    }
}
