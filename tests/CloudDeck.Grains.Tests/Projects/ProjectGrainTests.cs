using System.Text;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.GrainInterfaces.Projects;

namespace CloudDeck.Grains.Tests.Projects;

/// <summary>Projects: settings and their validation, encrypted environment variables, tenancy and the plan's project limit.</summary>
public sealed class ProjectGrainTests
{
    [Fact]
    public async Task Create_answers_the_webhook_secret_once_and_update_changes_only_valid_fields()
    {
        var (silo, owner) = await ProjectsSilo.StartAsync();
        await using var _ = silo;
        var web = silo.Grains.GetGrain<IProjectGrain>("acme/web");

        var created = await web.Create(owner, new ProjectSettings(GitUrl: "https://git.example.test/acme/web.git", Framework: "vite"));
        Assert.Equal("main", created.ProductionBranch);
        Assert.Equal(".", created.RootDirectory);
        Assert.Equal("web-acme.localhost", created.ProductionHost);
        Assert.False(string.IsNullOrEmpty(created.WebhookSecret));
        Assert.Null((await web.Get(owner)).WebhookSecret);
        await Assert.ThrowsAsync<ConflictException>(() => web.Create(owner, new ProjectSettings()));

        var updated = await web.Update(owner, new ProjectSettings(BuildCommand: "npm run build", OutputDirectory: "dist/", Framework: ""));
        Assert.Equal("npm run build", updated.BuildCommand);
        Assert.Equal("dist", updated.OutputDirectory);
        Assert.Null(updated.Framework);
        Assert.Equal("https://git.example.test/acme/web.git", updated.GitUrl);

        // One bad field refuses the whole change and names the field.
        var refused = await Assert.ThrowsAsync<InvalidFieldException>(() => web.Update(owner, new ProjectSettings(BuildCommand: "make", OutputDirectory: "../etc")));
        Assert.Equal("output_directory", refused.Field);
        Assert.Equal("npm run build", (await web.Get(owner)).BuildCommand);
        Assert.Equal("git_url", (await Assert.ThrowsAsync<InvalidFieldException>(() => web.Update(owner, new ProjectSettings(GitUrl: "--upload-pack=touch /tmp/x")))).Field);
        Assert.Equal("git_url", (await Assert.ThrowsAsync<InvalidFieldException>(() => web.Update(owner, new ProjectSettings(GitUrl: "file:///etc")))).Field);
        Assert.Equal("production_branch", (await Assert.ThrowsAsync<InvalidFieldException>(() => web.Update(owner, new ProjectSettings(ProductionBranch: "-x")))).Field);
        Assert.Equal("local_path", (await Assert.ThrowsAsync<InvalidFieldException>(() => web.Update(owner, new ProjectSettings(LocalPath: "/srv/site")))).Field);
        Assert.Equal("name", (await Assert.ThrowsAsync<InvalidFieldException>(() =>
            silo.Grains.GetGrain<IProjectGrain>("acme/Bad--Name").Create(owner, new ProjectSettings()))).Field);

        // Credentials in a git URL reach builds, never answers.
        await web.Update(owner, new ProjectSettings(GitUrl: "https://x-access-token:ghp_secret123@git.example.test/acme/web.git"));
        Assert.DoesNotContain("ghp_secret123", (await web.Get(owner)).GitUrl);
        Assert.Contains("ghp_secret123", (await web.GetBuildPlan(ProjectEnvironments.Production)).Project.GitUrl);
    }

    [Fact]
    public async Task Env_values_are_stored_encrypted_listed_masked_and_given_in_clear_only_to_builds()
    {
        var (silo, owner) = await ProjectsSilo.StartAsync(sqlite: true);
        await using var _ = silo;
        var web = silo.Grains.GetGrain<IProjectGrain>("acme/web");
        await web.Create(owner, new ProjectSettings());
        const string plaintext = "plaintext-token-7f3e9a1c-never-stored";

        await web.SetEnv(owner, ProjectEnvironments.Production, "API_TOKEN", plaintext);
        await web.SetEnv(owner, ProjectEnvironments.Preview, "API_TOKEN", "preview-value");
        var listed = await web.ListEnv(owner);
        Assert.Equal(2, listed.Count);
        Assert.All(listed, v => Assert.Equal("***", v.Value));
        Assert.Equal(plaintext, (await web.GetBuildPlan(ProjectEnvironments.Production)).Environment["API_TOKEN"]);
        Assert.Equal("preview-value", (await web.GetBuildPlan(ProjectEnvironments.Preview)).Environment["API_TOKEN"]);

        // Whatever SQLite wrote (database, WAL, journal) holds the ciphertext only.
        await silo.RestartAsync(graceful: true);
        var files = Directory.GetFiles(silo.DataDirectory, "clouddeck.db*");
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            var bytes = await File.ReadAllBytesAsync(file, TestContext.Current.CancellationToken);
            Assert.DoesNotContain(plaintext, Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
            Assert.DoesNotContain(plaintext, Encoding.Unicode.GetString(bytes), StringComparison.Ordinal);
        }

        // After the restart the key (generated once into the data directory) still decrypts.
        web = silo.Grains.GetGrain<IProjectGrain>("acme/web");
        Assert.Equal(plaintext, (await web.GetBuildPlan(ProjectEnvironments.Production)).Environment["API_TOKEN"]);
        Assert.True(File.Exists(Path.Combine(silo.DataDirectory, "secrets", "secrets.key")));

        await web.RemoveEnv(owner, ProjectEnvironments.Preview, "API_TOKEN");
        Assert.Single(await web.ListEnv(owner));
        Assert.Equal("environment", (await Assert.ThrowsAsync<InvalidFieldException>(() => web.SetEnv(owner, "staging", "X", "1"))).Field);
        Assert.Equal("name", (await Assert.ThrowsAsync<InvalidFieldException>(() => web.SetEnv(owner, ProjectEnvironments.Preview, "1BAD", "1"))).Field);
        await Assert.ThrowsAsync<NotFoundException>(() => web.RemoveEnv(owner, ProjectEnvironments.Preview, "API_TOKEN"));
    }

    [Fact]
    public async Task Server_settings_are_kept_and_a_bad_start_command_or_health_check_path_is_refused_by_field()
    {
        var (silo, owner) = await ProjectsSilo.StartAsync();
        await using var _ = silo;
        var api = silo.Grains.GetGrain<IProjectGrain>("acme/api");
        var created = await api.Create(owner, new ProjectSettings(StartCommand: "node server.js", HealthCheckPath: "/healthz?deep=1"));
        Assert.Equal(("node server.js", "/healthz?deep=1"), (created.StartCommand, created.HealthCheckPath));

        foreach (var path in new[] { "healthz", "//evil.example/x", "/a b", "/x#frag" })
        {
            Assert.Equal("health_check_path", (await Assert.ThrowsAsync<InvalidFieldException>(() => api.Update(owner, new ProjectSettings(HealthCheckPath: path)))).Field);
        }

        Assert.Equal("start_command", (await Assert.ThrowsAsync<InvalidFieldException>(() =>
            api.Update(owner, new ProjectSettings(StartCommand: "node a.js\nrm -rf /")))).Field);
        var cleared = await api.Update(owner, new ProjectSettings(StartCommand: "", HealthCheckPath: ""));
        Assert.Equal((null, null), (cleared.StartCommand, cleared.HealthCheckPath));
        Assert.Equal((null, null), ((await api.GetBuildPlan(ProjectEnvironments.Production)).Project.StartCommand, (await api.Get(owner)).HealthCheckPath));
    }

    [Fact]
    public async Task Another_tenant_and_a_missing_project_get_not_found()
    {
        var (silo, owner) = await ProjectsSilo.StartAsync();
        await using var _ = silo;
        var web = silo.Grains.GetGrain<IProjectGrain>("acme/web");
        await web.Create(owner, new ProjectSettings());
        var (outsider, _) = await silo.SignUpAsync("outsider@other.test", verified: true);

        await Assert.ThrowsAsync<NotFoundException>(() => web.Get(outsider));
        await Assert.ThrowsAsync<NotFoundException>(() => web.ListEnv(outsider));
        await Assert.ThrowsAsync<NotFoundException>(() => web.SetEnv(outsider, ProjectEnvironments.Production, "X", "1"));
        await Assert.ThrowsAsync<NotFoundException>(() => web.Delete(outsider));
        await Assert.ThrowsAsync<NotFoundException>(() => silo.Grains.GetGrain<IProjectIndexGrain>("acme").List(outsider));
        await Assert.ThrowsAsync<NotFoundException>(() => silo.Grains.GetGrain<IProjectGrain>("acme/missing").Get(owner));
        await Assert.ThrowsAsync<NotFoundException>(() => silo.Grains.GetGrain<IProjectGrain>("acme/other").Create(outsider, new ProjectSettings()));
    }

    [Fact]
    public async Task The_plans_project_limit_counts_projects_and_deleting_one_frees_its_place()
    {
        var (silo, owner) = await ProjectsSilo.StartAsync(settings: new Dictionary<string, string?> { ["CloudDeck:Plans:Hobby:Projects"] = "2" });
        await using var _ = silo;
        await silo.Grains.GetGrain<IProjectGrain>("acme/one").Create(owner, new ProjectSettings());
        await silo.Grains.GetGrain<IProjectGrain>("acme/two").Create(owner, new ProjectSettings());

        var refused = await Assert.ThrowsAsync<PlanLimitExceededException>(() => silo.Grains.GetGrain<IProjectGrain>("acme/three").Create(owner, new ProjectSettings()));
        Assert.Equal(new QuotaRefusal(QuotaLimits.Projects, 2, 2, null), refused.Refusal);
        await Assert.ThrowsAsync<NotFoundException>(() => silo.Grains.GetGrain<IProjectGrain>("acme/three").Get(owner));
        Assert.Equal(["one", "two"], (await silo.Grains.GetGrain<IProjectIndexGrain>("acme").List(owner)).Select(p => p.Name));

        await silo.Grains.GetGrain<IProjectGrain>("acme/one").Delete(owner);
        await silo.Grains.GetGrain<IProjectGrain>("acme/three").Create(owner, new ProjectSettings());
        Assert.Equal(["three", "two"], (await silo.Grains.GetGrain<IProjectIndexGrain>("acme").List(owner)).Select(p => p.Name));
        await Assert.ThrowsAsync<NotFoundException>(() => silo.Grains.GetGrain<IProjectGrain>("acme/one").Get(owner));
    }
}
