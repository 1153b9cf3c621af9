using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.GrainInterfaces.Notifications;
using CloudDeck.Grains.Notifications;
using CloudDeck.Grains.Servers;
using CloudDeck.Grains.Telemetry;

namespace CloudDeck.Grains.Projects;

/// <summary>The project's deployment history, which one production serves, rollback, and git pushes.</summary>
public sealed partial class ProjectGrain
{
    public const int MaxPageSize = 100;

    /// <summary>Who a deployment started by a webhook was created by (no user is signed in).</summary>
    public const string GitPushActor = "git-push";

    private const string SignaturePrefix = "sha256=";

    public async Task<DeploymentPage> ListDeployments(Caller caller, long? before, int limit)
    {
        await AuthorizeExisting(caller, OrganizationActions.ViewBuilds);
        limit = Math.Clamp(limit, 1, MaxPageSize);
        var older = Project.Deployments.Where(d => d.Status != DeploymentStatuses.Deleted && (before is not { } cursor || d.Sequence < cursor))
            .OrderByDescending(d => d.Sequence).Take(limit + 1).ToList();
        var page = older.Take(limit).ToList();
        return new DeploymentPage(page, older.Count > limit ? page[^1].Sequence : null);
    }

    public async Task<long> RecordDeployment(DeploymentView deployment)
    {
        if (!Project.Created) throw NotFound();
        if (deployment.Organization != Organization || deployment.Project != Name)
        {
            throw new ArgumentException($"Deployment '{deployment.Id}' belongs to {deployment.Organization}/{deployment.Project}, not {Key}.", nameof(deployment));
        }

        var before = Project.Deployments.FirstOrDefault(d => d.Id == deployment.Id)?.Status;
        var sequence = Remember(deployment);
        await state.WriteStateAsync();
        if (before != deployment.Status && DeploymentEvent(deployment.Status) is { } type)
        {
            await Notify.EventAsync(GrainFactory, clock, type, Organization, Name,
                $"Deployment {deployment.Id} of {Key} ({deployment.Target}) {(type == NotificationEventTypes.DeploymentReady ? "is ready" : deployment.Status == DeploymentStatuses.TimedOut ? "timed out" : "failed")}",
                [new("deployment_id", deployment.Id), new("status", deployment.Status), new("target", deployment.Target), new("branch", deployment.Branch),
                 new("commit", deployment.Commit), new("build_id", deployment.BuildId), new("error", deployment.Error), new("url", deployment.Url)]);
        }

        return sequence;
    }

    public Task<IReadOnlyList<string>> LiveDeploymentIds() => Task.FromResult<IReadOnlyList<string>>(
        Project.Created ? [.. Project.Deployments.Where(d => d.Status != DeploymentStatuses.Deleted).Select(d => d.Id)] : []);

    public async Task RecordProduction(string deploymentId)
    {
        if (!Project.Created) throw NotFound();
        if (Project.CurrentProduction() == deploymentId) return;
        Project.ProductionHistory.Add(deploymentId);
        await state.WriteStateAsync();
        await Index.Put(View(Project));
    }

    public async Task<DeploymentView> Rollback(Caller caller, string? deploymentId)
    {
        await AuthorizeExisting(caller, OrganizationActions.Deploy);
        var current = Project.CurrentProduction();
        DeploymentView target;
        if (deploymentId is not null)
        {
            if (!DeploymentIds.IsWellFormed(deploymentId)) throw new InvalidFieldException("deployment_id", DeploymentIds.Rule);
            target = Project.Deployments.FirstOrDefault(d => d.Id == deploymentId && d.Status != DeploymentStatuses.Deleted)
                     ?? throw new NotFoundException($"Deployment '{deploymentId}' not found in project '{Name}'.");
            if (target.Status != DeploymentStatuses.Ready) throw new ConflictException($"Deployment '{deploymentId}' is {target.Status}, not ready; only a ready deployment can serve production.");
        }
        else
        {
            // "Previous" is older than the one serving now, so repeated rollbacks walk further back instead of toggling.
            var currentSequence = Project.Deployments.FirstOrDefault(d => d.Id == current)?.Sequence ?? long.MaxValue;
            target = Project.Deployments
                .Where(d => d.Status == DeploymentStatuses.Ready && d.Id != current && d.Sequence < currentSequence
                            && (d.Target == DeploymentTargets.Production || Project.ProductionHistory.Contains(d.Id)))
                .MaxBy(d => d.Sequence)
                ?? throw new ConflictException($"Project '{Name}' has no earlier ready production deployment to roll back to.");
        }

        if (target.Id != current)
        {
            // Zero downtime for a server: healthy before the alias moves; the one it replaces drains, then stops.
            await ServerSwap.PrepareAsync(GrainFactory, target.Id, servers);
            // The one write that moves every edge; the history below only remembers it for the next rollback.
            await GrainFactory.GetGrain<IAliasGrain>((await ClaimHosts(branch: null)).Production).Set(Key, target.Id);
            CloudDeckMetrics.ProductionSwitched("rollback");
            ServerSwap.Retire(GrainFactory, current, target.Id, servers, logger);
            Project.ProductionHistory.Add(target.Id);
            await state.WriteStateAsync();
            await Index.Put(View(Project));
        }

        await AuditAsync(caller, "deployment.rolled_back", $"{Name}: {current ?? "none"} -> {target.Id}");
        await Notify.EventAsync(GrainFactory, clock, NotificationEventTypes.DeploymentRolledBack, Organization, Name,
            $"Production of {Key} rolled back to deployment {target.Id}",
            [new("deployment_id", target.Id), new("previous_deployment_id", current), new("by", caller.Email), new("url", target.Url)]);
        return target;
    }

    public async Task<PushReceipt> ReceivePush(byte[] payload, string? signature, string? deliveryId)
    {
        // An unknown project answers as a wrong signature does, so the anonymous route does not reveal project names.
        if (!Project.Created || !SignatureMatches(payload, signature))
        {
            throw new UnauthenticatedException($"{SignaturePrefix}… signature (X-Hub-Signature-256) does not match this project's webhook secret.");
        }

        var push = ReadPush(payload);
        if (push is not var (branch, commit, pushedAt)) return new PushReceipt(null);
        // The signature covers the body, not the delivery id, so a replay is recognized by either; and a push older
        // than the window the deliveries are remembered for is refused, as its delivery may have been forgotten.
        if (pushedAt is { } at && at < clock.GetUtcNow() - GitDeliveries.Window)
        {
            throw new InvalidFieldException("repository.pushed_at",
                $"is {at:u}, older than {GitDeliveries.Window.TotalDays:0} days: a replayed delivery, not a new push");
        }

        var payloadSha256 = Convert.ToHexStringLower(SHA256.HashData(payload));
        var deliveries = GrainFactory.GetGrain<IGitDeliveryLogGrain>(Key);
        if (await deliveries.Find(deliveryId, payloadSha256) is { } earlier) return new PushReceipt(null, earlier);
        if (Project.GitUrl is null && Project.LocalPath is null)
        {
            throw new ConflictException($"Project '{Name}' has no git source (git_url or local_path) to deploy a push from.");
        }

        var target = branch == Project.ProductionBranch ? DeploymentTargets.Production : DeploymentTargets.Preview;
        var sequence = Project.Deployments.Count + 1L;
        var deployment = await GrainFactory.GetGrain<IDeploymentGrain>(DeploymentIds.New())
            .CreateFromPush(View(Project), new DeploymentSource(GitRef: commit, Branch: branch), target, GitPushActor, sequence);
        Remember(deployment);
        await state.WriteStateAsync();
        // After the deployment exists: a crash in between makes a redelivery deploy again, never drops a push.
        await deliveries.Remember(new GitDelivery(deliveryId, payloadSha256, deployment.Id, clock.GetUtcNow()));
        await AuditAsync(GitPushActor, "webhook", "deployment.created", $"{Name}: {deployment.Id} ({target}, {branch}@{commit[..Math.Min(12, commit.Length)]})");
        return new PushReceipt(deployment);
    }

    private static string? DeploymentEvent(string status) => status switch
    {
        DeploymentStatuses.Ready => NotificationEventTypes.DeploymentReady,
        DeploymentStatuses.Failed or DeploymentStatuses.TimedOut => NotificationEventTypes.DeploymentFailed,
        _ => null,
    };

    /// <summary>Adds or replaces the deployment's entry; answers its sequence (its place in the history, from 1).</summary>
    private long Remember(DeploymentView deployment)
    {
        var index = Project.Deployments.FindIndex(d => d.Id == deployment.Id);
        if (index >= 0)
        {
            var sequence = Project.Deployments[index].Sequence;
            Project.Deployments[index] = deployment with { Sequence = sequence };
            return sequence;
        }

        var next = Project.Deployments.Count + 1L;
        Project.Deployments.Add(deployment with { Sequence = next });
        return next;
    }

    private bool SignatureMatches(byte[] payload, string? signature)
    {
        if (signature is null || !signature.StartsWith(SignaturePrefix, StringComparison.Ordinal)) return false;
        byte[] given;
        try
        {
            given = Convert.FromHexString(signature.AsSpan(SignaturePrefix.Length).Trim());
        }
        catch (FormatException)
        {
            return false;
        }

        var secret = secrets.Decrypt(Project.WebhookSecret, Context(WebhookContext));
        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), payload);
        return CryptographicOperations.FixedTimeEquals(expected, given);
    }

    /// <summary>
    /// GitHub's push payload: <c>ref</c> refs/heads/&lt;branch&gt;, <c>after</c> the new commit, and when present
    /// <c>repository.pushed_at</c> (Unix seconds in a push event). Null for tags and deleted branches.
    /// </summary>
    private static (string Branch, string Commit, DateTimeOffset? PushedAt)? ReadPush(byte[] payload)
    {
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(payload);
            root = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            throw new InvalidFieldException("body", "must be a JSON push event (GitHub's format: ref, after)");
        }

        try
        {
            return ReadPush(root);
        }
        catch (InvalidOperationException)
        {
            // A string that is not text (a lone surrogate): a bad request, not a server error.
            throw new InvalidFieldException("body", "must be a JSON push event whose strings are valid text");
        }
    }

    private static (string Branch, string Commit, DateTimeOffset? PushedAt)? ReadPush(JsonElement root)
    {

        if (root.ValueKind != JsonValueKind.Object) throw new InvalidFieldException("body", "must be a JSON object");
        if (!root.TryGetProperty("ref", out var refElement) || refElement.ValueKind != JsonValueKind.String)
        {
            // A ping (sent when the hook is added) or another event: nothing to deploy.
            return null;
        }

        const string heads = "refs/heads/";
        var gitRef = refElement.GetString()!;
        if (!gitRef.StartsWith(heads, StringComparison.Ordinal)) return null;
        if (root.TryGetProperty("deleted", out var deleted) && deleted.ValueKind == JsonValueKind.True) return null;
        var branch = gitRef[heads.Length..];
        ProjectRules.GitRef(branch, "ref");
        var commit = root.TryGetProperty("after", out var after) && after.ValueKind == JsonValueKind.String ? after.GetString()! : "";
        if (commit.Length is not (40 or 64) || commit.AsSpan().IndexOfAnyExcept("0123456789abcdef") >= 0)
        {
            throw new InvalidFieldException("after", "must be the pushed commit's full hash (40 or 64 lower-case hex digits)");
        }

        return commit.All(c => c == '0') ? null : (branch, commit, PushedAt(root));
    }

    private static DateTimeOffset? PushedAt(JsonElement root)
    {
        if (!root.TryGetProperty("repository", out var repository) || repository.ValueKind != JsonValueKind.Object
            || !repository.TryGetProperty("pushed_at", out var pushedAt))
        {
            return null;
        }

        // A number in push events (Unix seconds); other events of GitHub's spell it as an ISO 8601 string.
        if (pushedAt.ValueKind == JsonValueKind.Number && pushedAt.TryGetInt64(out var seconds)
            && seconds is >= 0 and <= 253402300799)
        {
            return DateTimeOffset.FromUnixTimeSeconds(seconds);
        }

        if (pushedAt.ValueKind == JsonValueKind.String
            && DateTimeOffset.TryParse(pushedAt.GetString(), System.Globalization.CultureInfo.InvariantCulture,
                System.Globalization.DateTimeStyles.AssumeUniversal, out var text))
        {
            return text;
        }

        if (pushedAt.ValueKind == JsonValueKind.Null) return null;
        throw new InvalidFieldException("repository.pushed_at", "must be the push's time in Unix seconds (or ISO 8601)");
    }
}
