using CloudDeck.GrainInterfaces.Accounts;
using Microsoft.Extensions.Hosting;

namespace CloudDeck.Grains.Hosting;

/// <summary>On a fresh embedded install's first start: the first account signed up becomes the platform's operator.</summary>
internal sealed class FirstAccountSlot(IGrainFactory grains) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) =>
        grains.GetGrain<IPlatformOperatorsGrain>(IPlatformOperatorsGrain.Key).OpenFirstAccountSlot().WaitAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
