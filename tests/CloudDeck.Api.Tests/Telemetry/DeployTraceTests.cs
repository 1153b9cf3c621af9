using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using CloudDeck.Api.Tests.Accounts;
using CloudDeck.Grains.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;

namespace CloudDeck.Api.Tests.Telemetry;

/// <summary>
/// A deploy's create request as one trace, recorded with OpenTelemetry's in-memory exporter: the HTTP span, the grain
/// calls, the build's run and its storage writes, each the child of the one before, with the ids as attributes.
/// </summary>
public sealed class DeployTraceTests
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_deploy_is_one_trace_from_the_HTTP_span_through_grain_calls_to_the_builds_storage_writes()
    {
        var spans = new LockedList<Activity>();
        await using var api = new InProcessApi(
            settings: new Dictionary<string, string?> { ["CloudDeck:Telemetry:Tracing"] = "true", ["CloudDeck:Telemetry:TraceSampleRatio"] = "1" },
            services: services => services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(spans)));
        var owner = await api.SignUpAndLoginAsync("owner@trace.test", verifyEmail: true);
        var org = owner.PersonalOrganization;
        (await api.PostAsync($"/api/v1/orgs/{org}/projects", new { name = "web" }, owner.AccessToken)).Expect(HttpStatusCode.Created);
        var bytes = "<h1>traced</h1>"u8.ToArray();
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        (await api.SendAsync(HttpMethod.Put, $"/api/v1/orgs/{org}/files/{sha}", content, owner.AccessToken)).Expect(HttpStatusCode.Created);

        var deployment = (await api.PostAsync($"/api/v1/orgs/{org}/projects/web/deployments",
            new { target = "production", files = new[] { new { path = "index.html", sha256 = sha, size = bytes.Length } } }, owner.AccessToken))
            .Expect(HttpStatusCode.Created);
        var deploymentId = deployment.Text("id");
        var buildId = deployment.Text("build_id");
        await WaitUntilReadyAsync(api, deploymentId, owner.AccessToken!);
        // A span is exported when it ends: the deployment can be ready while the calls that reported it are still
        // returning, so the trace is read once every span in it has its parent there too.
        var (recorded, request, trace) = await CompleteTraceAsync(api, spans);
        var run = Assert.Single(trace.Values, s => s.Source.Name == CloudDeckActivities.SourceName && s.DisplayName == "build.run");
        // The build's last storage write: its terminal status, written after the run reported back.
        var buildWrites = trace.Values.Where(s => s.DisplayName == "write storage" && s.GetTagItem("orleans.storage.state.name") as string == "build")
            .OrderBy(s => s.StartTimeUtc).ToList();
        Assert.True(buildWrites.Count >= 2, $"The build's storage writes should be in the request's trace:\n{Describe(trace.Values)}");
        var last = buildWrites[^1];

        // Parent links, from the last write up to the request: every hop in this trace, the run among them, in time order.
        var chain = new List<Activity> { last };
        while (chain[^1].SpanId != request.SpanId)
        {
            Assert.True(trace.TryGetValue(chain[^1].ParentSpanId, out var parent), $"{chain[^1].DisplayName}'s parent is not in the trace:\n{Describe(trace.Values)}");
            Assert.True(parent!.StartTimeUtc <= chain[^1].StartTimeUtc, $"{parent.DisplayName} should start before its child {chain[^1].DisplayName}");
            chain.Add(parent);
        }

        Assert.Contains(run, chain);
        Assert.Contains(chain, s => s.Source.Name == "Microsoft.Orleans.Application" && s.Kind == ActivityKind.Server
            && (s.GetTagItem("rpc.method") as string ?? "").Contains("Queue", StringComparison.Ordinal));
        Assert.Contains(chain, s => s.Source.Name == "Microsoft.Orleans.Application" && s.Kind == ActivityKind.Client);

        // The ids as attributes: on the project's creation call, the deployment's start and the build's run.
        foreach (var method in new[] { "IProjectGrain/Deploy", "IDeploymentGrain/Start" })
        {
            Assert.Contains(trace.Values, s => s.GetTagItem(CloudDeckActivities.DeploymentTag) as string == deploymentId
                && s.GetTagItem(CloudDeckActivities.OrganizationTag) as string == org && (s.GetTagItem("rpc.method") as string ?? "").EndsWith(method, StringComparison.Ordinal));
        }

        Assert.Equal(deploymentId, run.GetTagItem(CloudDeckActivities.DeploymentTag));
        Assert.Equal(buildId, run.GetTagItem(CloudDeckActivities.BuildTag));
        Assert.Equal(org, run.GetTagItem(CloudDeckActivities.OrganizationTag));

        // No secret in any span of any trace: not the password, the access token or the refresh token.
        var values = recorded.SelectMany(s => s.TagObjects.Select(t => t.Value?.ToString() ?? "").Append(s.DisplayName)).ToList();
        foreach (var secret in new[] { InProcessApi.Password, owner.AccessToken!, owner.RefreshToken! })
        {
            Assert.DoesNotContain(values, value => value.Contains(secret, StringComparison.Ordinal));
        }
    }

    private static async Task<(Activity[] Recorded, Activity Request, Dictionary<ActivitySpanId, Activity> Trace)> CompleteTraceAsync(
        InProcessApi api, LockedList<Activity> spans)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            api.Services.GetRequiredService<TracerProvider>().ForceFlush();
            var recorded = spans.Snapshot();
            var request = Assert.Single(recorded, s => s.Kind == ActivityKind.Server && s.Source.Name == "Microsoft.AspNetCore"
                && s.GetTagItem("http.request.method") as string == "POST" && (s.GetTagItem("url.path") as string ?? "").EndsWith("/deployments", StringComparison.Ordinal));
            var trace = recorded.Where(s => s.TraceId == request.TraceId).ToDictionary(s => s.SpanId);
            var complete = trace.Values.All(s => s.SpanId == request.SpanId || trace.ContainsKey(s.ParentSpanId));
            if (complete || DateTime.UtcNow > deadline) return (recorded, request, trace);
            await Task.Delay(200, Cancellation);
        }
    }

    private static async Task WaitUntilReadyAsync(InProcessApi api, string deploymentId, string token)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var status = (await api.GetAsync($"/api/v1/deployments/{deploymentId}", token)).Expect(HttpStatusCode.OK).Text("status");
            if (status == "ready") return;
            Assert.True(status == "building" && DateTime.UtcNow < deadline, $"Deployment {deploymentId} is {status}");
            await Task.Delay(100, Cancellation);
        }
    }

    private static string Describe(IEnumerable<Activity> spans) =>
        string.Join("\n", spans.OrderBy(s => s.StartTimeUtc).Select(s => $"{s.Source.Name} {s.Kind} {s.DisplayName} {s.SpanId} <- {s.ParentSpanId}"));
}

/// <summary>What the exporter adds to from the threads that end spans, while the test reads it.</summary>
internal sealed class LockedList<T> : System.Collections.ObjectModel.Collection<T>
{
    private readonly Lock _gate = new();

    public T[] Snapshot()
    {
        lock (_gate) return [.. Items];
    }

    protected override void InsertItem(int index, T item)
    {
        lock (_gate) base.InsertItem(index, item);
    }
}
