using Microsoft.Extensions.Logging;

namespace Actors.Runtime;

/// <summary>
/// Orleans' membership protocol for one silo: join (Created → Joining → Active after probing the active silos),
/// heartbeats, direct probes and a last indirect probe through a third silo, suspicion votes in the table,
/// the death declaration when enough fresh votes agree, and self-termination of a silo that reads itself dead
/// or superseded by a newer generation on its own endpoint.
/// </summary>
internal sealed class MembershipProtocol : IAsyncDisposable
{
    private readonly ClusterService _cluster;
    private readonly ClusterOptions _options;
    private readonly ILogger _logger;
    private readonly Action<string> _terminate;
    private readonly Dictionary<SiloAddress, int> _missedProbes = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _refreshGate = new(1, 1);
    private readonly List<Task> _loops = [];
    private MembershipEntry _self = null!;

    public MembershipProtocol(ClusterService cluster, ILogger logger, Action<string> terminate)
    {
        _cluster = cluster;
        _options = cluster.Options;
        _logger = logger;
        _terminate = terminate;
        cluster.Messages.GossipReceived += () => _ = RefreshSafelyAsync();
        cluster.RefreshWanted += () => _ = RefreshSafelyAsync();
    }

    public SiloAddress Self => _self.Silo;

    public async Task JoinAsync(string siloName, CancellationToken cancellationToken)
    {
        await _cluster.Table.InitializeAsync(cancellationToken);
        var listenOn = _options.ResolveListenAddress();
        var siloPort = _cluster.Messages.Listen(listenOn, _options.SiloPort);
        var gatewayPort = _options.GatewayPort == 0 ? 0 : _cluster.Messages.Listen(listenOn, _options.GatewayPort);
        var silo = new SiloAddress(_options.AdvertisedAddress, siloPort, SiloAddress.NewGeneration());
        _cluster.Self = silo;
        _cluster.Messages.SelfId = "silo/" + silo;
        var now = DateTimeOffset.UtcNow;
        _self = new MembershipEntry(silo, SiloStatus.Joining, gatewayPort, siloName, Environment.MachineName, [], now, now);

        // An older incarnation on our endpoint is certainly gone: declare it dead as we join.
        await ChangeTableAsync(data => data.Entries
            .Where(e => e.Silo.Endpoint == silo.Endpoint && e.Silo.Generation < silo.Generation && e.Status != SiloStatus.Dead)
            .Select(e => e with { Status = SiloStatus.Dead })
            .Append(_self), cancellationToken);

        var data = await _cluster.Table.ReadAllAsync(cancellationToken);
        var others = data.Entries.Where(e => e.Status == SiloStatus.Active && e.Silo != silo).ToArray();
        var reachable = await Task.WhenAll(others.Select(o => _cluster.Messages.PingAsync(o.Silo.Endpoint, _options.ProbeTimeout)));
        _logger.LogInformation("Joining cluster {ClusterId} as {Silo}: {Reachable} of {Active} active silos answered",
            _options.ClusterId, silo, reachable.Count(r => r), others.Length);

        _self = _self with { Status = SiloStatus.Active };
        await ChangeTableAsync(_ => [_self], cancellationToken);
        var joined = await _cluster.RefreshAsync(cancellationToken);
        _cluster.Messages.Gossip(joined.Entries.Where(e => e.Status == SiloStatus.Active && e.Silo != silo).Select(e => e.Silo));

        _loops.Add(RunEveryAsync(_options.TableRefreshPeriod, RefreshSafelyAsync));
        _loops.Add(RunEveryAsync(_options.ProbePeriod, ProbeAsync));
        _loops.Add(RunEveryAsync(_options.IAmAlivePeriod, () => _cluster.Table.UpdateIAmAliveAsync(silo, _stopping.Token)));
    }

    /// <summary>Leaves gracefully: ShuttingDown (others stop placing grains here), then Dead once handed off.</summary>
    /// <returns>False if the cluster had already declared this silo dead: it must not hand anything off then.</returns>
    public async Task<bool> AnnounceShutdownAsync()
    {
        if (!await ChangeOwnRowAsync(SiloStatus.ShuttingDown))
        {
            return false;
        }

        var data = await _cluster.RefreshAsync(CancellationToken.None);
        _cluster.Messages.Gossip(data.Entries.Where(e => e.Status == SiloStatus.Active).Select(e => e.Silo));
        return true;
    }

    public async Task AnnounceDeadAsync()
    {
        _stopping.Cancel();
        await ChangeOwnRowAsync(SiloStatus.Dead);
        var data = await _cluster.Table.ReadAllAsync(CancellationToken.None);
        _cluster.Messages.Gossip(data.Entries.Where(e => e.Status == SiloStatus.Active).Select(e => e.Silo));
    }

    /// <summary>Changes this silo's status from the row as read, never bringing a dead row back to life.</summary>
    private async Task<bool> ChangeOwnRowAsync(SiloStatus status)
    {
        var alive = true;
        await ChangeTableAsync(data =>
        {
            var mine = data.Entries.FirstOrDefault(e => e.Silo == Self);
            if (mine is null || mine.Status == SiloStatus.Dead)
            {
                alive = false;
                return [];
            }

            _self = mine with { Status = status };
            return [_self];
        }, CancellationToken.None);
        return alive;
    }

    /// <summary>Applies a change to the table with compare-and-swap on its version, re-reading on conflict.</summary>
    private async Task ChangeTableAsync(Func<MembershipTableData, IEnumerable<MembershipEntry>> rows, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var data = await _cluster.Table.ReadAllAsync(cancellationToken);
            var version = data.Version;
            var allWritten = true;
            foreach (var row in rows(data))
            {
                if (!await _cluster.Table.UpsertAsync(row, version, cancellationToken))
                {
                    allWritten = false;
                    break;
                }

                version++;
            }

            if (allWritten)
            {
                return;
            }

            if (attempt > 20)
            {
                throw new InvalidOperationException("The membership table kept changing under this silo; giving up after 20 attempts.");
            }

            await Task.Delay(Random.Shared.Next(10, 50), cancellationToken);
        }
    }

    private async Task RunEveryAsync(TimeSpan period, Func<Task> step)
    {
        using var timer = new PeriodicTimer(period);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token))
            {
                try
                {
                    await step();
                }
                catch (Exception exception) when (!_stopping.IsCancellationRequested)
                {
                    _logger.LogWarning(exception, "A membership step failed; it runs again next period");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task RefreshSafelyAsync()
    {
        if (_stopping.IsCancellationRequested || !await _refreshGate.WaitAsync(0))
        {
            return;
        }

        try
        {
            var data = await _cluster.RefreshAsync(_stopping.Token);
            var mine = data.Entries.FirstOrDefault(e => e.Silo == Self);
            if (mine?.Status == SiloStatus.Dead && _self.Status != SiloStatus.Dead)
            {
                Terminate($"the cluster declared this silo ({Self}) dead");
            }
            else if (data.Entries.Any(e => e.Silo.Endpoint == Self.Endpoint && e.Silo.Generation > Self.Generation))
            {
                Terminate($"a newer silo took over {Self.Endpoint}");
            }
        }
        catch (Exception exception) when (!_stopping.IsCancellationRequested)
        {
            _logger.LogWarning(exception, "Reading the membership table failed");
        }
        finally
        {
            _refreshGate.Release();
        }
    }

    private void Terminate(string why)
    {
        _logger.LogCritical("Stopping at once: {Why}. Activations here may be stale, so none is written.", why);
        _stopping.Cancel();
        _terminate(why);
    }

    private async Task ProbeAsync()
    {
        var view = _cluster.View;
        var ring = view.ActiveSilos.ToList();
        var index = ring.IndexOf(Self);
        if (index < 0 || ring.Count < 2)
        {
            return;
        }

        // Each silo watches the next few on the ring, so every silo is watched by as many others.
        var targets = Enumerable.Range(1, Math.Min(_options.ProbedSilos, ring.Count - 1)).Select(i => ring[(index + i) % ring.Count]).ToArray();
        var answered = await Task.WhenAll(targets.Select(target => _cluster.Messages.PingAsync(target.Endpoint, _options.ProbeTimeout)));
        // If nobody answered while several were asked, the likelier fault is here (a starved or cut-off process):
        // count nothing and vote against nobody this round.
        if (targets.Length > 1 && !answered.Any(a => a))
        {
            _logger.LogWarning("No probed silo answered; this silo may be the unhealthy one, so it casts no votes this round");
            return;
        }

        await Task.WhenAll(targets.Select((target, i) => AfterProbeAsync(target, answered[i], ring)));
    }

    private async Task AfterProbeAsync(SiloAddress target, bool answered, List<SiloAddress> ring)
    {
        if (answered)
        {
            lock (_missedProbes)
            {
                _missedProbes[target] = 0;
            }

            return;
        }

        int missed;
        lock (_missedProbes)
        {
            missed = _missedProbes[target] = _missedProbes.GetValueOrDefault(target) + 1;
        }

        _logger.LogWarning("Probe of {Silo} failed ({Missed} in a row)", target, missed);
        if (missed < _options.MissedProbesLimit)
        {
            return;
        }

        // Last chance through a third silo: the fault may be on our side of the network.
        var witnesses = ring.Where(s => s != Self && s != target).ToArray();
        if (witnesses.Length > 0 && await _cluster.Messages.PingIndirectlyAsync(
                witnesses[Random.Shared.Next(witnesses.Length)].Endpoint, target.Endpoint, _options.ProbeTimeout))
        {
            return;
        }

        await SuspectAsync(target);
    }

    private async Task SuspectAsync(SiloAddress target)
    {
        var declaredDead = false;
        await ChangeTableAsync(data =>
        {
            var entry = data.Entries.FirstOrDefault(e => e.Silo == target);
            var mine = data.Entries.FirstOrDefault(e => e.Silo == Self);
            // Only an active silo votes: one that was itself declared dead (or is leaving) must not kill others.
            if (entry is null || entry.Status == SiloStatus.Dead || mine?.Status != SiloStatus.Active)
            {
                return [];
            }

            var now = DateTimeOffset.UtcNow;
            var votes = entry.Suspicions.Where(s => now - s.At < _options.SuspicionLifetime && s.Voter != Self).Append((Self, now)).ToArray();
            var active = data.Entries.Count(e => e.Status == SiloStatus.Active);
            var needed = Math.Max(1, Math.Min(_options.VotesForDeathDeclaration, (active + 1) / 2));
            if (now - entry.IAmAliveTime > _options.IAmAlivePeriod * 3)
            {
                // Not even heartbeating for three periods: when most of a small cluster died together, the
                // survivors are too few to out-vote it, so one vote settles it.
                needed = 1;
            }
            declaredDead = votes.Length >= needed;
            return [entry with { Suspicions = votes, Status = declaredDead ? SiloStatus.Dead : entry.Status }];
        }, _stopping.Token);

        if (declaredDead)
        {
            _logger.LogWarning("Declared {Silo} dead", target);
            var data = await _cluster.RefreshAsync(_stopping.Token);
            _cluster.Messages.Gossip(data.Entries.Where(e => e.Status == SiloStatus.Active && e.Silo != Self).Select(e => e.Silo));
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        await Task.WhenAll(_loops);
    }
}
