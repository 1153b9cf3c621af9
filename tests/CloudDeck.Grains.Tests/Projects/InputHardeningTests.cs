using System.Text;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.Grains.Artifacts;
using Microsoft.Extensions.DependencyInjection;

namespace CloudDeck.Grains.Tests.Projects;

/// <summary>Names that read as other text, and manifests whose sizes are not the stored files' sizes, are refused.</summary>
public sealed class InputHardeningTests
{
    [Theory]
    [InlineData("Acme\u202Egpj.exe")]
    [InlineData("Acme\u2066Corp")]
    [InlineData("Acme\u200FCorp")]
    [InlineData("Acme\u0007Corp")]
    public async Task Organization_names_with_bidirectional_or_control_characters_are_refused(string name)
    {
        var (silo, owner) = await ProjectsSilo.StartAsync();
        await using var _ = silo;

        var created = await Assert.ThrowsAsync<InvalidFieldException>(() => silo.Grains.GetGrain<IOrganizationGrain>("team-two").Create(owner, name, personal: false));
        Assert.Equal("name", created.Field);
        var renamed = await Assert.ThrowsAsync<InvalidFieldException>(() => silo.Grains.GetGrain<IOrganizationGrain>("acme").Rename(owner, name));
        Assert.Equal("name", renamed.Field);
        Assert.Equal("Acme", (await silo.Grains.GetGrain<IOrganizationGrain>("acme").Get(owner)).Name);
    }

    [Fact]
    public async Task A_manifest_whose_size_is_not_the_stored_files_size_is_refused_naming_the_entry()
    {
        var (silo, owner) = await ProjectsSilo.StartAsync();
        await using var _ = silo;
        await silo.Grains.GetGrain<IProjectGrain>("acme/site").Create(owner, new ProjectSettings());
        var store = silo.Services.GetRequiredService<IArtifactStore>();
        var content = Encoding.UTF8.GetBytes("<h1>hello</h1>");
        var sha256 = ProjectsSilo.Sha256Of(content);
        await store.PutAsync(sha256, content.Length, new MemoryStream(content), TestContext.Current.CancellationToken);
        await store.GrantAsync("acme", [sha256], TestContext.Current.CancellationToken);

        Task<DeploymentView> Upload(long size) => silo.Grains.GetGrain<IProjectGrain>("acme/site")
            .Deploy(owner, new DeploymentSource(Files: [new ManifestFile("index.html", sha256, size)]), DeploymentTargets.Preview);

        Assert.Equal("files[0].size", (await Assert.ThrowsAsync<InvalidFieldException>(() => Upload(1_000_000))).Field);
        Assert.Equal("files[0].size", (await Assert.ThrowsAsync<InvalidFieldException>(() => Upload(1))).Field);
        Assert.Empty((await silo.Grains.GetGrain<IProjectGrain>("acme/site").ListDeployments(owner, null, 10)).Deployments);
        Assert.Equal(DeploymentStatuses.Building, (await Upload(content.Length)).Status);
    }
}
