using Microsoft.Extensions.Logging;

namespace Actors.Runtime;

/// <summary>
/// This process's part in a cluster: the current view, placement of each call, and the message center. A silo
/// also runs the membership protocol (<see cref="MembershipProtocol"/>); a client only reads the table.
/// </summary>
internal sealed class ClusterService : IAsyncDisposable
{
    private readonly GrainRuntime _runtime;
    private readonly ILogger _logger;
    private volatile ClusterView _view = ClusterView.Empty;
    private readonly Lock _applying = new();
    private long _lastTableReadTicks;

    public ClusterService(GrainRuntime runtime, ClusterOptions options, bool isClient, ILoggerFactory loggers)
    {
        options.Validate();
        _runtime = runtime;
        Options = options;
        IsClient = isClient;
        _logger = loggers.CreateLogger("Actors.Runtime.Cluster");
        Table = new PostgresMembershipTable(options.MembershipConnectionString!, options.ClusterId);
        Messages = new MessageCenter(runtime, isClient ? $"client/{Guid.NewGuid():N}" : "silo/pending", loggers.CreateLogger("Actors.Runtime.Messaging"));
        runtime.Cluster = this;
    }

    public ClusterOptions Options { get; }

    public bool IsClient { get; }

    public PostgresMembershipTable Table { get; }

    public MessageCenter Messages { get; }

    /// <summary>This silo; null in a client.</summary>
    public SiloAddress? Self { get; set; }

    public ClusterView View => _view;

    /// <summary>Raised after the view changed, with the previous view.</summary>
    public event Action<ClusterView, ClusterView>? ViewChanged;

    /// <summary>Asked for when this process suspects its view is behind (a rejected or bounced request).</summary>
    public event Action? RefreshWanted;

    /// <summary>Sends the request to its owner if that is another process; false means "run it here".</summary>
    public bool TryRouteRemotely(GrainRequest request)
    {
        var view = _view;
        var owner = view.Owner(request.Target);
        if (owner is null)
        {
            if (!IsClient)
            {
                return false; // Still joining, nobody is active yet: this silo is all there is.
            }

            _ = DispatchAgainLaterAsync(request, refresh: true);
            return true;
        }

        if (owner == Self)
        {
            if (!IsClient && Environment.TickCount64 - Interlocked.Read(ref _lastTableReadTicks) > LeaseMilliseconds)
            {
                // The view is too old to trust (a paused process, an unreachable database): this silo may have been
                // declared dead meanwhile. Turn the call away until a fresh read says we still own the grain.
                RefreshWanted?.Invoke();
                if (request.IsInbound)
                {
                    request.TryFail(new RequestRejectedException($"Silo {Self} has not read the membership table recently; {request} was not run."));
                }
                else
                {
                    _ = DispatchAgainLaterAsync(request, refresh: true);
                }

                return true;
            }

            return false;
        }

        if (request.Hops > 0 && request.IsInbound)
        {
            // Another silo sent us a call it thinks we own, and we think it is someone else's: the views
            // disagree while the table changes. Catch up with the table, then route again; give up at the deadline.
            if (request.Hops > Options.MaxForwardHops)
            {
                _ = DispatchAgainLaterAsync(request, refresh: true);
                return true;
            }
        }

        var endpoint = IsClient ? $"{owner.Host}:{view.GatewayPortOf(owner)}" : owner.Endpoint;
        Messages.SendRequest(owner, endpoint, request);
        return true;
    }

    /// <summary>
    /// Dispatches a request again after a short pause (its owner was unreachable, turned it away, or the views
    /// disagreed), optionally after re-reading the membership table. Fails it once its deadline has passed.
    /// </summary>
    public async Task DispatchAgainLaterAsync(GrainRequest request, bool refresh)
    {
        if (refresh)
        {
            RefreshWanted?.Invoke();
        }

        await Task.Delay(100);
        if (Environment.TickCount64 >= request.DeadlineTicks)
        {
            request.TryFail(new SiloUnavailableException($"No active silo of cluster '{Options.ClusterId}' could take {request} before its deadline."));
            return;
        }

        // A fresh start for forwarding; the deadline, not the hop count, bounds how long views may disagree.
        request.Hops = 0;
        request.SentTo = null;
        _runtime.Dispatch(request);
    }

    /// <summary>A silo serves its grains only while its last table read is this recent.</summary>
    private long LeaseMilliseconds => (long)(Options.TableRefreshPeriod.TotalMilliseconds * 2.5);

    /// <summary>True when the current view names another silo as the grain's owner.</summary>
    public bool IsOwnedElsewhere(GrainId grainId) => !IsClient && _view.Owner(grainId) is { } owner && owner != Self;

    /// <summary>Reads the membership table and applies the view it describes.</summary>
    public async Task<MembershipTableData> RefreshAsync(CancellationToken cancellationToken)
    {
        var started = Environment.TickCount64;
        var data = await Table.ReadAllAsync(cancellationToken);
        Apply(new ClusterView(data.Entries, data.Version));
        // The lease runs from when the read started: what it says was true at least from then on.
        long seen;
        do
        {
            seen = Interlocked.Read(ref _lastTableReadTicks);
        }
        while (started > seen && Interlocked.CompareExchange(ref _lastTableReadTicks, started, seen) != seen);

        return data;
    }

    public void Apply(ClusterView next)
    {
        ClusterView previous;
        lock (_applying)
        {
            previous = _view;
            // Reads run concurrently (timer, gossip, votes): an older read must not undo a newer one.
            if (next.Version < previous.Version || (next.Version == previous.Version && next.ActiveCount == previous.ActiveCount))
            {
                return;
            }

            _view = next;
        }

        foreach (var gone in previous.Entries.Where(e => e.Status == SiloStatus.Active && !next.IsActive(e.Silo)))
        {
            var now = next.Entries.FirstOrDefault(e => e.Silo == gone.Silo);
            if (now is null || now.Status == SiloStatus.Dead)
            {
                Messages.ForgetSilo(gone.Silo, gone.GatewayPort == 0 ? gone.Silo.Port : gone.GatewayPort);
            }
        }

        _logger.LogInformation("Cluster view {Version}: {Silos}", next.Version, string.Join(", ", next.ActiveSilos));
        ViewChanged?.Invoke(previous, next);
    }

    public ValueTask DisposeAsync() => Messages.DisposeAsync();
}
