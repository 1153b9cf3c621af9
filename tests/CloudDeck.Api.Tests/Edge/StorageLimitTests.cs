using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using CloudDeck.Api.Tests.Accounts;
using CloudDeck.Grains.Artifacts;
using Microsoft.Extensions.DependencyInjection;

namespace CloudDeck.Api.Tests.Edge;

/// <summary>
/// Storage limits through the real API: an upload past the plan's storage is a 402 naming the limit with nothing stored
/// or counted, a content is counted once per organization, and an unverified account uploads and deploys only a small
/// allowance until it verifies its email.
/// </summary>
public sealed class StorageLimitTests : IAsyncDisposable
{
    private readonly InProcessApi _api = new(settings: new Dictionary<string, string?>
    {
        ["CloudDeck:Plans:Hobby:StorageMb"] = "2",
        ["CloudDeck:Accounts:UnverifiedStorageAllowanceMb"] = "1",
        ["CloudDeck:Accounts:UnverifiedDeployments"] = "1",
    });

    private LocalArtifactStore Store => (LocalArtifactStore)_api.Services.GetRequiredService<IArtifactStore>();

    /// <summary>Content files in the store (grants and the temporary directory left out).</summary>
    private string[] Stored() => Directory.GetFiles(Store.Root, "*", SearchOption.AllDirectories)
        .Where(f => !f.StartsWith(Path.Combine(Store.Root, "orgs") + Path.DirectorySeparatorChar, StringComparison.Ordinal)
                    && !f.StartsWith(Path.Combine(Store.Root, "tmp") + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        .ToArray();

    private static (byte[] Bytes, string Sha256) Content(int size, byte seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return (bytes, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    private static ByteArrayContent Raw(byte[] bytes)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return content;
    }

    private static ByteArrayContent Batch(params (byte[] Bytes, string Sha256)[] files)
    {
        using var body = new MemoryStream();
        foreach (var (bytes, sha) in files)
        {
            body.Write(Encoding.ASCII.GetBytes($"{sha} {bytes.Length}\n"));
            body.Write(bytes);
        }

        var content = new ByteArrayContent(body.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return content;
    }

    private Task<Answer> PutAsync(Account account, string org, (byte[] Bytes, string Sha256) file) =>
        _api.SendAsync(HttpMethod.Put, $"/api/v1/orgs/{org}/files/{file.Sha256}", Raw(file.Bytes), account.AccessToken);

    private async Task<long> StoredBytesAsync(Account account, string org) =>
        (await _api.GetAsync($"/api/v1/orgs/{org}/quotas", account.AccessToken)).Expect(HttpStatusCode.OK)["limits"]!.AsArray()
            .Single(l => l!.Text("limit") == "storage_bytes")!["current"]!.GetValue<long>();

    private async Task<string[]> MissingAsync(Account account, string org, params string[] sha256s) =>
        [.. (await _api.PostAsync($"/api/v1/orgs/{org}/files/missing", new { files = sha256s.Select(sha256 => new { sha256, size = 1 }) }, account.AccessToken))
            .Expect(HttpStatusCode.OK)["missing"]!.AsArray().Select(n => n!.GetValue<string>())];

    [Fact]
    public async Task An_upload_past_the_plans_storage_is_a_402_naming_the_limit_used_and_plan_and_nothing_is_stored_or_counted()
    {
        var owner = await _api.SignUpAndLoginAsync("ada@example.com", verifyEmail: true);
        var org = owner.PersonalOrganization;
        var first = Content(1_500_000, 1);
        var second = Content(600_000, 2);
        var third = Content(300_000, 3);
        (await PutAsync(owner, org, first)).Expect(HttpStatusCode.Created);
        var storedBefore = Stored();

        var refused = (await PutAsync(owner, org, second)).Expect(HttpStatusCode.PaymentRequired);
        Assert.Equal("storage_bytes", refused.Text("limit"));
        Assert.Equal(1_500_000, refused["current"]!.GetValue<long>());
        Assert.Equal(2_000_000, refused["maximum"]!.GetValue<long>());
        Assert.StartsWith("The hobby plan stores at most 2000000 bytes (storage_bytes); this organization stores 1500000 and this needs 600000 more.",
            refused.Text("detail"), StringComparison.Ordinal);
        // A batch that would pass it is refused as a whole: the file that would fit is not stored either.
        var batch = await _api.SendAsync(HttpMethod.Post, $"/api/v1/orgs/{org}/files/batch", Batch(third, second), owner.AccessToken);
        Assert.Equal("storage_bytes", batch.Expect(HttpStatusCode.PaymentRequired).Text("limit"));

        Assert.Equal(1_500_000, await StoredBytesAsync(owner, org));
        Assert.Equal([second.Sha256, third.Sha256], await MissingAsync(owner, org, second.Sha256, third.Sha256));
        Assert.Equal(storedBefore, Stored());
        Assert.False(Store.Contains(second.Sha256));

        // What fits still goes in.
        (await PutAsync(owner, org, third)).Expect(HttpStatusCode.Created);
        Assert.Equal(1_800_000, await StoredBytesAsync(owner, org));
    }

    [Fact]
    public async Task A_content_uploaded_twice_or_by_two_organizations_is_stored_once_and_counted_once_in_each()
    {
        var ada = await _api.SignUpAndLoginAsync("ada@example.com", verifyEmail: true);
        var bob = await _api.SignUpAndLoginAsync("bob@example.com", verifyEmail: true);
        var file = Content(400_000, 7);

        (await PutAsync(ada, ada.PersonalOrganization, file)).Expect(HttpStatusCode.Created);
        (await PutAsync(ada, ada.PersonalOrganization, file)).Expect(HttpStatusCode.OK);
        (await _api.SendAsync(HttpMethod.Post, $"/api/v1/orgs/{ada.PersonalOrganization}/files/batch", Batch(file, file), ada.AccessToken)).Expect(HttpStatusCode.OK);
        (await PutAsync(bob, bob.PersonalOrganization, file)).Expect(HttpStatusCode.Created);

        Assert.Equal(400_000, await StoredBytesAsync(ada, ada.PersonalOrganization));
        Assert.Equal(400_000, await StoredBytesAsync(bob, bob.PersonalOrganization));
        Assert.Single(Stored());
    }

    [Fact]
    public async Task An_unverified_account_uploads_and_deploys_only_its_allowance_is_told_to_verify_and_may_go_on_once_it_has()
    {
        // The first account of this fresh install is its operator, verified at sign-up when no SMTP server is set: the
        // newcomer comes second, as on a real install.
        await _api.SignUpAndLoginAsync("ops@example.com");
        var newcomer = await _api.SignUpAndLoginAsync("new@example.com");
        var org = newcomer.PersonalOrganization;
        var first = Content(600_000, 11);
        var second = Content(600_000, 12);
        (await PutAsync(newcomer, org, first)).Expect(HttpStatusCode.Created);

        var upload = (await PutAsync(newcomer, org, second)).Expect(HttpStatusCode.Forbidden);
        Assert.StartsWith("Verify your email first", upload.Text("detail"), StringComparison.Ordinal);
        Assert.Contains("CloudDeck:Accounts:UnverifiedStorageAllowanceMb", upload.Text("detail"), StringComparison.Ordinal);
        Assert.Equal(600_000, await StoredBytesAsync(newcomer, org));
        Assert.Equal([second.Sha256], await MissingAsync(newcomer, org, second.Sha256));

        (await _api.PostAsync($"/api/v1/orgs/{org}/projects", new { name = "site" }, newcomer.AccessToken)).Expect(HttpStatusCode.Created);
        object Deployment((byte[] Bytes, string Sha256) file) =>
            new { target = "preview", files = new[] { new { path = "index.html", sha256 = file.Sha256, size = file.Bytes.Length } } };
        (await _api.PostAsync($"/api/v1/orgs/{org}/projects/site/deployments", Deployment(first), newcomer.AccessToken)).Expect(HttpStatusCode.Created);
        var deploy = (await _api.PostAsync($"/api/v1/orgs/{org}/projects/site/deployments", Deployment(first), newcomer.AccessToken))
            .Expect(HttpStatusCode.Forbidden);
        Assert.StartsWith("Verify your email first", deploy.Text("detail"), StringComparison.Ordinal);
        Assert.Single((await _api.GetAsync($"/api/v1/orgs/{org}/projects/site/deployments", newcomer.AccessToken)).Expect(HttpStatusCode.OK).Items());

        // Verified, with an access token that says so: the plan's limits are what is left.
        await _api.VerifyEmailAsync(newcomer);
        await _api.LoginAsync(newcomer);
        (await PutAsync(newcomer, org, Content(300_000, 13))).Expect(HttpStatusCode.Created);
        (await _api.PostAsync($"/api/v1/orgs/{org}/projects/site/deployments", Deployment(first), newcomer.AccessToken)).Expect(HttpStatusCode.Created);
    }

    public ValueTask DisposeAsync() => _api.DisposeAsync();
}
