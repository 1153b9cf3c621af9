using Actors.Extensions.Records;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.Grains.Organizations;
using CloudDeck.Grains.Projects;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Providers;
using Orleans.Runtime;
using Orleans.Storage;

namespace CloudDeck.Grains.Tests.Projects;

/// <summary>
/// Grain state stays bounded however long the history (issue 21): deployments and audit entries are rows of the record
/// tables, read back in pages, and the grains' stored state (read from the SQLite file) stays small. The long histories
/// are inserted through the store directly, or as state an earlier version wrote, not made one build at a time.
/// </summary>
public sealed class BoundedStateTests
{
    private const int MaxStateBytes = 64 * 1024;
    private const int PageSize = 50;

    [Fact]
    public async Task A_project_with_5000_deployments_keeps_its_stored_state_under_64_KiB_and_lists_them_all_in_order_in_pages_of_50()
    {
        await using var silo = await CreationSilo.StartAsync();
        var records = silo.Silo.Services.GetRequiredService<IRecordStore>();
        var clock = silo.Silo.Clock.GetUtcNow();
        // 5,000 deployments of the past, as their rows, 500 per transaction.
        foreach (var batch in Enumerable.Range(1, 5_000).Chunk(500))
        {
            await records.WriteAsync("clouddeck", [.. batch.Select(i => ProjectHistory.Row("acme/web", Past(i, clock)))], TestContext.Current.CancellationToken);
        }

        // Real ones after them: numbering continues from the history, and the state written on the way stays small.
        var uploaded = await silo.UploadAsync();
        var pushed = (await silo.PushAsync("delivery-after-history")).Deployment!;
        await silo.Web.RecordProduction(uploaded.Id);
        Assert.Equal((5_001L, 5_002L), (uploaded.Sequence, pushed.Sequence));
        Assert.True(StoredBytes(silo.Silo, "acme/web", "project") < MaxStateBytes);

        var listed = await AllPagesAsync(async before =>
        {
            var page = await silo.Web.ListDeployments(silo.Owner, before, PageSize);
            return (page.Deployments, page.NextBefore);
        });
        Assert.Equal(Enumerable.Range(1, 5_002).Reverse().Select(i => (long)i), listed.Select(d => d.Sequence));
        Assert.Equal([pushed.Id, uploaded.Id, Past(5_000, clock).Id], listed.Take(3).Select(d => d.Id));
        Assert.Equal(5_002, listed.Select(d => d.Id).Distinct().Count());

        // Rollback walks the history from the table: the newest ready production deployment before the current one.
        Assert.Equal(Past(5_000, clock).Id, (await silo.Web.Rollback(silo.Owner, null)).Id);
    }

    [Fact]
    public async Task An_organization_with_50000_audit_entries_keeps_its_stored_state_under_64_KiB_and_reads_them_all_in_order_in_pages_of_50()
    {
        await using var silo = await CreationSilo.StartAsync();
        var trail = silo.Silo.Services.GetRequiredService<AuditTrail>();
        foreach (var batch in Enumerable.Range(1, 50_000).Chunk(1_000))
        {
            await trail.WriteAsync([.. batch.Select(i => trail.Entry("acme", silo.Owner.UserId, "test.entry", $"entry {i}", "10.0.0.1"))]);
        }

        await silo.UploadAsync(); // one more, audited the ordinary way
        var organization = silo.Silo.Grains.GetGrain<IOrganizationGrain>("acme");
        var entries = await AllPagesAsync(async before =>
        {
            var page = await organization.GetAuditLog(silo.Owner, new AuditQuery(before, PageSize));
            return (page.Entries, page.NextBefore);
        });

        // organization.created and project.created came first, then the 50,000, then the deployment's.
        Assert.Equal(50_003, entries.Count);
        Assert.Equal(Enumerable.Range(1, 50_003).Reverse().Select(i => (long)i), entries.Select(e => e.Sequence));
        Assert.Equal(["deployment.created", "test.entry"], entries.Take(2).Select(e => e.Action));
        Assert.Equal("entry 50000", entries[1].Target);
        Assert.Equal(["project.created", "organization.created"], entries.TakeLast(2).Select(e => e.Action));
        Assert.True(StoredBytes(silo.Silo, "acme", "audit") < MaxStateBytes);
        Assert.True(StoredBytes(silo.Silo, "acme", "organization") < MaxStateBytes);
    }

    [Fact]
    public async Task State_an_earlier_version_wrote_with_every_deployment_and_audit_entry_in_it_moves_to_the_tables_keeping_numbers_and_order()
    {
        await using var silo = await CreationSilo.StartAsync();
        var storage = silo.Silo.Services.GetRequiredKeyedService<IGrainStorage>(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME);
        var clock = silo.Silo.Clock.GetUtcNow();
        // A project and an organization's audit log as an earlier version stored them: everything in the grain's state.
        var legacyDeployments = Enumerable.Range(1, 1_500).Select(i => Past(i, clock) with { Project = "old" }).ToList();
        var project = new ProjectState
        {
            Created = true, Name = "old", CreatedAt = clock, ProductionHost = "old-acme.localhost", Deployments = legacyDeployments,
            ProductionHistory = [.. legacyDeployments.Select(d => d.Id)],
        };
        await storage.WriteStateAsync("project", GrainId.Create("project", "acme/old"), new GrainState<ProjectState>(project));
        var audit = new AuditLogGrain.AuditState
        {
            Entries = [.. Enumerable.Range(1, 1_500).Select(i => new AuditEntry(i, clock, "someone", "old.entry", $"old {i}", "10.0.0.1"))],
        };
        await storage.WriteStateAsync("audit", GrainId.Create("auditlog", "beta"), new GrainState<AuditLogGrain.AuditState>(audit));
        Assert.True(StoredBytes(silo.Silo, "acme/old", "project") > MaxStateBytes);

        // The project moves its history when it activates; the next deployment continues its numbering.
        var old = silo.Silo.Grains.GetGrain<IProjectGrain>("acme/old");
        var listed = await AllPagesAsync(async before =>
        {
            var page = await old.ListDeployments(silo.Owner, before, PageSize);
            return (page.Deployments, page.NextBefore);
        });
        Assert.Equal(legacyDeployments.Select(d => d.Id).Reverse(), listed.Select(d => d.Id));
        Assert.True(StoredBytes(silo.Silo, "acme/old", "project") < MaxStateBytes);
        Assert.Equal(legacyDeployments[^1].Id, (await old.Get(silo.Owner)).ProductionDeploymentId);
        await old.Update(silo.Owner, new ProjectSettings(GitUrl: "https://git.example.test/acme/old.git"));
        Assert.Equal(1_501, (await old.Deploy(silo.Owner, new DeploymentSource(), DeploymentTargets.Preview)).Sequence);
        // A deployment an earlier version stored without a number reports in: it is added at the end, once.
        var unnumbered = Past(9_999, clock) with { Project = "old", Sequence = 0 };
        Assert.Equal(1_502, await old.RecordDeployment(unnumbered));
        Assert.Equal(1_502, await old.RecordDeployment(unnumbered with { Status = DeploymentStatuses.Failed }));
        Assert.Equal(1_503, (await old.Deploy(silo.Owner, new DeploymentSource(), DeploymentTargets.Preview)).Sequence);

        // The organization's first new entry moves the old ones first, so it is numbered after them.
        var owner = silo.Owner;
        var beta = silo.Silo.Grains.GetGrain<IOrganizationGrain>("beta");
        await beta.Create(owner, "Beta", personal: false);
        var entries = await AllPagesAsync(async before =>
        {
            var page = await beta.GetAuditLog(owner, new AuditQuery(before, PageSize));
            return (page.Entries, page.NextBefore);
        });
        Assert.Equal(Enumerable.Range(1, 1_501).Reverse().Select(i => (long)i), entries.Select(e => e.Sequence));
        Assert.Equal("organization.created", entries[0].Action);
        Assert.Equal("old 1", entries[^1].Target);
        Assert.True(StoredBytes(silo.Silo, "beta", "audit") < MaxStateBytes);
    }

    /// <summary>A ready production deployment of acme/web made long ago, number <paramref name="sequence"/>.</summary>
    private static DeploymentView Past(int sequence, DateTimeOffset now) => new(
        $"{sequence:x16}", "acme", "web", DeploymentTargets.Production, DeploymentStatuses.Ready, $"http://{sequence:x16}.localhost",
        $"b{sequence:x15}", "main", "main", null, "someone", now.AddDays(-30).AddMinutes(sequence), now.AddDays(-30).AddMinutes(sequence + 1), sequence);

    /// <summary>Every item, following each page's cursor until there is none.</summary>
    private static async Task<List<T>> AllPagesAsync<T>(Func<long?, Task<(IReadOnlyList<T> Items, long? Next)>> page)
    {
        var all = new List<T>();
        long? before = null;
        for (var pages = 0; ; pages++)
        {
            Assert.True(pages < 10_000, "The pages never end.");
            var (items, next) = await page(before);
            Assert.True(items.Count == PageSize || next is null, $"A page of {items.Count} before the last.");
            all.AddRange(items);
            if (next is null) return all;
            before = next;
        }
    }

    /// <summary>The size of a grain's state as stored in the silo's SQLite file.</summary>
    private static long StoredBytes(AccountsSilo silo, string grainKey, string stateName)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(silo.DataDirectory, "clouddeck.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COALESCE(length(payload), 0) FROM grain_state WHERE grain_key = @k AND state_name = @s";
        command.Parameters.AddWithValue("@k", grainKey);
        command.Parameters.AddWithValue("@s", stateName);
        return command.ExecuteScalar() is long bytes ? bytes : 0;
    }
}
