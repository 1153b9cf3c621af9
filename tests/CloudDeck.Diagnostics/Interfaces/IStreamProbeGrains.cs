
namespace CloudDeck.GrainInterfaces.Diagnostics;

/// <summary>
/// Test grains for streams across silos: a producer that appends numbered items to stream ("probe-stream", key) and
/// picks up where the stream ends after its silo dies, and a listener that subscribes from inside its silo.
/// </summary>
[Alias("clouddeck.IStreamProducerProbeGrain")]
public interface IStreamProducerProbeGrain : IGrainWithStringKey
{
    public const string Namespace = "probe-stream";

    /// <summary>Starts (or resumes, from the stream's end) appending items until the stream holds <paramref name="upTo"/> of them, then completes it.</summary>
    Task Produce(long upTo, int batch, int pauseMs);

    [ReadOnly]
    Task<string> Where();
}
