using Microsoft.Extensions.Logging;

namespace Actors.Runtime;

/// <summary>Activation and deactivation. Everything here runs on the activation's own scheduler.</summary>
internal sealed partial class ActivationData
{
    private enum Phase
    {
        Created,
        Activating,
        Valid,
        Deactivating,
        Invalid,
    }

    private Phase _phase = Phase.Created;
    private bool _lifecycleStepRunning;
    private bool _inconsistent;
    private DeactivationReason _deactivationReason;
    private readonly TaskCompletionSource _deactivated = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<IActivationStateParticipant> _states = [];
    // Timers and stream subscriptions: they end with the activation.
    private readonly List<IDisposable> _timers = [];

    public bool IsInLifecycleStep => _lifecycleStepRunning;

    /// <summary>For logs about activations that would not deactivate. Read racily.</summary>
    public string Describe() =>
        $"{GrainId} ({_phase}, {_running} running, {_waiting.Count} waiting, {(_lifecycleStepRunning ? "in a lifecycle step" : "idle lifecycle")})";

    /// <summary>Completes when the activation has been removed from the catalog.</summary>
    public Task Deactivated => _deactivated.Task;

    internal void AddStateParticipant(IActivationStateParticipant state) => _states.Add(state);

    internal void AddTimer(IDisposable timer)
    {
        if (_phase is Phase.Deactivating or Phase.Invalid)
        {
            throw new InvalidOperationException($"{GrainId} is deactivating; it cannot register timers.");
        }

        _timers.Add(timer);
    }

    internal void RemoveTimer(IDisposable timer) => _timers.Remove(timer);

    /// <summary>A state write hit a stale etag: this activation may not write again, so it must go.</summary>
    internal void MarkInconsistent()
    {
        _inconsistent = true;
        if (_running == 0)
        {
            StartDeactivation(DeactivationReason.InconsistentState);
        }
        else
        {
            _deactivateWhenIdle = true;
        }
    }

    private void BeginActivation()
    {
        _phase = Phase.Activating;
        _ = ActivateAsync();
    }

    private async Task ActivateAsync()
    {
        _lifecycleStepRunning = true;
        CallChainNode.Current = new CallChainNode(this, null, null);
        try
        {
            Instance = _runtime.Activator.CreateInstance(this);
            var limit = _runtime.Options.ActivationTimeout;
            using var timeout = new CancellationTokenSource(limit);
            // WaitAsync enforces the limit even on code that ignores the token: a stuck activation fails
            // its callers and leaves the catalog instead of wedging the grain for good.
            await ReadStatesAndActivateAsync(Instance, timeout.Token).WaitAsync(limit);
            _phase = Phase.Valid;
        }
        catch (Exception exception)
        {
            _logger.LogError(exception, "Activation of {GrainId} failed", GrainId);
            _phase = Phase.Invalid;
            _runtime.Catalog.Remove(this);
            var failure = new GrainActivationException($"Activation of {GrainId} failed: {exception.Message}", exception);
            while (_waiting.TryDequeue(out var request))
            {
                request.TryFail(failure);
            }

            DisposeTimers();
            _deactivated.TrySetResult();
            return;
        }
        finally
        {
            _lifecycleStepRunning = false;
            CallChainNode.Current = null;
        }

        if (_runtime.IsShuttingDown)
        {
            _deactivateWhenIdle = true;
        }

        if (_runtime.Cluster?.IsOwnedElsewhere(GrainId) == true)
        {
            // The view changed while we activated: the grain belongs to another silo now, and the calls waiting
            // here must follow it there rather than run on an activation that the hand-off walk did not see.
            StartDeactivation(DeactivationReason.Rebalanced);
            return;
        }

        if (_deactivateWhenIdle && _waiting.IsEmpty)
        {
            StartDeactivation(_inconsistent ? DeactivationReason.InconsistentState : DeactivationReason.ApplicationRequested);
            return;
        }

        PumpWaiting();
    }

    private async Task ReadStatesAndActivateAsync(Grain instance, CancellationToken cancellationToken)
    {
        foreach (var state in _states)
        {
            await state.ReadOnActivationAsync();
        }

        await instance.OnActivateAsync(cancellationToken);
    }

    /// <summary>Stops admitting requests; deactivates once the running ones have finished.</summary>
    internal void StartDeactivation(DeactivationReason reason)
    {
        if (_phase == Phase.Created && _waiting.IsEmpty)
        {
            // Never activated (its only request was answered before it arrived): nothing to run, just leave.
            _phase = Phase.Invalid;
            _runtime.Catalog.Remove(this);
            _deactivated.TrySetResult();
            return;
        }

        if (_phase != Phase.Valid)
        {
            return;
        }

        _phase = Phase.Deactivating;
        _deactivationReason = _inconsistent ? DeactivationReason.InconsistentState : reason;
        try
        {
            Instance?.OnDeactivationStarted();
        }
        catch (Exception exception)
        {
            _logger.LogError(exception, "The deactivation hook of {GrainId} failed", GrainId);
        }

        TryFinishDeactivation();
    }

    /// <summary>Deactivates if nothing happened since the collector looked. Posted by the collector.</summary>
    internal void CollectIfIdle(long idleSinceTicks)
    {
        if (_phase is Phase.Valid or Phase.Created && _running == 0 && _waiting.IsEmpty && _inbox.IsEmpty && LastActivityTicks <= idleSinceTicks)
        {
            StartDeactivation(DeactivationReason.IdleCollection);
        }
    }

    private void TryFinishDeactivation()
    {
        if (_phase == Phase.Deactivating && _running == 0 && !_lifecycleStepRunning)
        {
            _ = DeactivateAsync();
        }
    }

    private async Task DeactivateAsync()
    {
        _lifecycleStepRunning = true;
        CallChainNode.Current = new CallChainNode(this, null, null);
        try
        {
            DisposeTimers();
            var limit = _runtime.Options.DeactivationTimeout;
            using var timeout = new CancellationTokenSource(limit);
            try
            {
                await DeactivateAndWriteAsync(timeout.Token).WaitAsync(limit);
            }
            catch (Exception exception)
            {
                // Past the limit the activation goes anyway: a hung hook must not keep the grain unreachable.
                _logger.LogError(exception, "Deactivation of {GrainId} did not complete cleanly", GrainId);
            }
        }
        finally
        {
            _lifecycleStepRunning = false;
            CallChainNode.Current = null;
            _phase = Phase.Invalid;
            _runtime.Catalog.Remove(this);
            // Requests that queued during deactivation go to the next activation; timer ticks die with this one.
            while (_waiting.TryDequeue(out var request))
            {
                if (request.IsBoundToActivation)
                {
                    request.TryFail(new ObjectDisposedException(GrainId.ToString(), "The activation was deactivated."));
                }
                else
                {
                    _runtime.Dispatch(request);
                }
            }

            _deactivated.TrySetResult();
            _logger.LogDebug("Deactivated {GrainId} ({Reason})", GrainId, _deactivationReason);
        }
    }

    private async Task DeactivateAndWriteAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Instance!.OnDeactivateAsync(_deactivationReason, cancellationToken);
        }
        catch (Exception exception)
        {
            _logger.LogError(exception, "OnDeactivateAsync of {GrainId} failed", GrainId);
        }

        // A stale activation must not write: another activation owns the state now.
        if (_inconsistent || !_runtime.Options.WriteChangedStateOnDeactivation)
        {
            return;
        }

        foreach (var state in _states)
        {
            try
            {
                await state.WriteIfChangedAsync();
            }
            catch (Exception exception)
            {
                _logger.LogError(exception, "Writing the changed state of {GrainId} on deactivation failed", GrainId);
            }
        }
    }

    private void DisposeTimers()
    {
        foreach (var timer in _timers.ToArray())
        {
            timer.Dispose();
        }

        _timers.Clear();
    }
}

/// <summary>A piece of grain state that takes part in the activation's lifecycle.</summary>
internal interface IActivationStateParticipant
{
    Task ReadOnActivationAsync();

    Task WriteIfChangedAsync();
}
