using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Deployments;
using Microsoft.Extensions.DependencyInjection;

namespace CloudDeck.Grains.Tests.Deployments;

/// <summary>An alias write is stored, survives a restart, and is announced on the stream every edge follows.</summary>
public sealed class AliasGrainTests
{
    [Fact]
    public async Task Set_and_remove_are_stored_and_announced_with_growing_versions()
    {
        await using var silo = await AccountsSilo.StartAsync(sqlite: true);
        var changes = silo.Services.GetRequiredService<ILogStreamProvider>().GetStream<AliasChange>(AliasChanges.Namespace, AliasChanges.Key);
        var before = (await changes.GetInfoAsync()).Last;
        var alias = silo.Grains.GetGrain<IAliasGrain>("web-acme.localhost");

        Assert.Null(await alias.Get());
        Assert.Null(await alias.Set("acme/web", "0123456789abcdef"));
        Assert.Equal("0123456789abcdef", await alias.Set("acme/web", "fedcba9876543210"));
        await alias.Remove();
        Assert.Null(await alias.Get());
        Assert.Null(await alias.Set("acme/web", "0123456789abcdef"));

        var page = await changes.ReadAsync(new LogPosition(before + 1), 10);
        Assert.Equal(
            [new AliasChange("web-acme.localhost", "0123456789abcdef", 1), new AliasChange("web-acme.localhost", "fedcba9876543210", 2),
             new AliasChange("web-acme.localhost", null, 3), new AliasChange("web-acme.localhost", "0123456789abcdef", 4)],
            page.Items.Select(i => i.Item));

        await silo.RestartAsync(graceful: false);
        var view = await silo.Grains.GetGrain<IAliasGrain>("web-acme.localhost").Get();
        Assert.Equal(("acme/web", "0123456789abcdef", 4L), (view!.ProjectKey, view.DeploymentId, view.Version));
    }

    [Fact]
    public async Task Bad_hosts_and_ids_are_refused_and_another_project_cannot_take_a_host()
    {
        await using var silo = await AccountsSilo.StartAsync();
        var error = await Assert.ThrowsAsync<InvalidFieldException>(() => silo.Grains.GetGrain<IAliasGrain>("Web-Acme.localhost:8080").Set("acme/web", "0123456789abcdef"));
        Assert.Equal("host", error.Field);
        var alias = silo.Grains.GetGrain<IAliasGrain>("web-acme.localhost");
        Assert.Equal("deployment_id", (await Assert.ThrowsAsync<InvalidFieldException>(() => alias.Set("acme/web", "nope"))).Field);
        await alias.Set("acme/web", "0123456789abcdef");
        await Assert.ThrowsAsync<ConflictException>(() => alias.Set("evil/web", "0123456789abcdef"));
    }
}
