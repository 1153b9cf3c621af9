using Actors.Runtime.Testing;

namespace Actors.Runtime.Tests;

/// <summary>
/// One started <see cref="InProcessTestCluster"/> (this assembly's grains, memory storage, default options) shared by
/// every test of the <see cref="SharedSiloCollection"/>: starting a silo per test costs more than most of these tests.
/// Tests that share it must use grain keys no other test uses, and must not change options, restart or stop it;
/// those that need to keep starting their own silo with <see cref="TestSilos"/>.
/// </summary>
public sealed class SharedSiloFixture : IAsyncLifetime
{
    private InProcessTestCluster? _silo;

    public InProcessTestCluster Silo => _silo ?? throw new InvalidOperationException("The shared silo has not started.");

    public IGrainFactory GrainFactory => Silo.GrainFactory;

    public async ValueTask InitializeAsync() => _silo = await TestSilos.StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (_silo is not null) await _silo.DisposeAsync();
    }
}

/// <summary>Tests marked <c>[Collection(SharedSiloCollection.Name)]</c> get one <see cref="SharedSiloFixture"/> between them.</summary>
[CollectionDefinition(Name)]
public sealed class SharedSiloCollection : ICollectionFixture<SharedSiloFixture>
{
    public const string Name = "shared silo";
}
