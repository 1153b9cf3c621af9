using System.Net;
using System.Text.Json.Nodes;
using CloudDeck.GrainInterfaces.Mail;

namespace CloudDeck.Api.Tests.Accounts;

/// <summary>
/// Abuse controls over HTTP, with client addresses set through a known proxy's X-Forwarded-For: wrong passwords hold
/// back one (account, address) pair with a growing wait, never the account; an IPv6 client is one /64; sign-up answers
/// alike for registered and new addresses; sign-up, password reset and organization creation are rate limited per
/// address and per account; a user owns a bounded number of organizations.
/// </summary>
public sealed class AbuseControlTests : IAsyncDisposable
{
    private const string Wrong = "not the password";

    private readonly List<InProcessApi> _hosts = [];

    private InProcessApi Api(Dictionary<string, string?>? settings = null)
    {
        var api = new InProcessApi(settings: settings, behindProxy: true);
        _hosts.Add(api);
        return api;
    }

    [Fact]
    public async Task A_correct_password_from_another_address_signs_in_while_one_address_waits_out_a_growing_backoff()
    {
        var api = Api();
        var ada = await api.SignUpAndLoginAsync("ada@example.com");
        for (var i = 0; i < 5; i++) (await Login(api, ada.Email, Wrong, "203.0.113.7")).Expect(HttpStatusCode.Unauthorized);

        var waiting = await Login(api, ada.Email, ada.Password, "203.0.113.7");
        waiting.Expect(HttpStatusCode.TooManyRequests);
        Assert.Equal(TimeSpan.FromMinutes(1), waiting.RetryAfter);
        Assert.Equal("application/problem+json", waiting.MediaType);

        // The owner, elsewhere, is not locked out by someone who knows their email.
        (await Login(api, ada.Email, ada.Password, "198.51.100.9")).Expect(HttpStatusCode.OK);

        // The guesser's next failure after the wait doubles it.
        api.Clock.Advance(TimeSpan.FromMinutes(1));
        (await Login(api, ada.Email, Wrong, "203.0.113.7")).Expect(HttpStatusCode.Unauthorized);
        Assert.Equal(TimeSpan.FromMinutes(2), (await Login(api, ada.Email, ada.Password, "203.0.113.7")).RetryAfter);
        (await Login(api, ada.Email, ada.Password, "198.51.100.9")).Expect(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Login_throttles_count_an_IPv6_client_by_its_64_prefix()
    {
        var api = Api();
        var ada = await api.SignUpAndLoginAsync("ada@example.com");
        // Five addresses of one /64 are one client: together they reach the pair's five failures.
        for (var i = 1; i <= 5; i++) (await Login(api, ada.Email, Wrong, $"2001:db8:1:2::{i:x}")).Expect(HttpStatusCode.Unauthorized);
        Assert.Equal(TimeSpan.FromMinutes(1), (await Login(api, ada.Email, ada.Password, "2001:db8:1:2:ffff:ffff:ffff:ffff")).RetryAfter);
        (await Login(api, ada.Email, ada.Password, "2001:db8:1:3::1")).Expect(HttpStatusCode.OK);

        // The address's own limit across emails (CloudDeck:Auth:AddressFailureLimit, 20) counts the /64 too.
        for (var i = 0; i < 20; i++) (await Login(api, $"nobody{i}@example.com", Wrong, $"2001:db8:5:6::{i + 1:x}")).Expect(HttpStatusCode.Unauthorized);
        var throttled = await Login(api, ada.Email, ada.Password, "2001:db8:5:6:abcd::1");
        throttled.Expect(HttpStatusCode.TooManyRequests);
        Assert.Equal(TimeSpan.FromMinutes(15), throttled.RetryAfter);
        (await Login(api, ada.Email, ada.Password, "2001:db8:5:7::1")).Expect(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Sign_up_answers_alike_for_a_new_and_a_registered_address_and_the_email_tells_each_the_truth()
    {
        var api = Api();
        var first = await api.PostAsync("/api/v1/auth/signup", new { email = "ada@example.com", password = InProcessApi.Password }, clientAddress: "203.0.113.7");
        var again = await api.PostAsync("/api/v1/auth/signup", new { email = "ada@example.com", password = "an attacker's passphrase" }, clientAddress: "198.51.100.9");
        var other = await api.PostAsync("/api/v1/auth/signup", new { email = "bob@example.com", password = InProcessApi.Password }, clientAddress: "198.51.100.9");

        Assert.Equal((HttpStatusCode.Accepted, first.Body), (again.Status, again.Body));
        Assert.Equal(HttpStatusCode.Accepted, other.Status);
        Assert.Equal(Shape(first.Json), Shape(other.Json));
        Assert.Equal("ada@example.com", first.Json.Text("email"));

        var mail = await api.Grains.GetGrain<IOutboxGrain>("ada@example.com").List();
        Assert.Equal([OutboxKinds.EmailVerification, OutboxKinds.SignUpAttempt], mail.Select(m => m.Kind));
        var attempt = mail[1];
        Assert.Contains("already has one", attempt.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("token=", attempt.Body, StringComparison.Ordinal);
        Assert.Equal([OutboxKinds.EmailVerification], (await api.Grains.GetGrain<IOutboxGrain>("bob@example.com").List()).Select(m => m.Kind));

        // The second sign-up changed nothing: the first password still signs in, the second does not.
        (await Login(api, "ada@example.com", "an attacker's passphrase", "198.51.100.9")).Expect(HttpStatusCode.Unauthorized);
        (await Login(api, "ada@example.com", InProcessApi.Password, "203.0.113.7")).Expect(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Sign_ups_are_rate_limited_per_address_and_per_email_with_429_and_Retry_After()
    {
        var api = Api(new() { ["CloudDeck:Accounts:SignUpsPerAddress"] = "3", ["CloudDeck:Accounts:SignUpsPerEmail"] = "2" });
        for (var i = 0; i < 3; i++) (await SignUp(api, $"user{i}@example.com", "203.0.113.7")).Expect(HttpStatusCode.Accepted);
        AssertLimited(await SignUp(api, "user3@example.com", "203.0.113.7"), "from this address");
        (await SignUp(api, "user3@example.com", "198.51.100.9")).Expect(HttpStatusCode.Accepted);

        // Per email, registered or not, from any address: each sign-up sends that address an email.
        (await SignUp(api, "target@example.com", "192.0.2.1")).Expect(HttpStatusCode.Accepted);
        (await SignUp(api, "target@example.com", "192.0.2.2")).Expect(HttpStatusCode.Accepted);
        AssertLimited(await SignUp(api, "target@example.com", "192.0.2.3"), "for this email address");
        Assert.Equal([OutboxKinds.EmailVerification, OutboxKinds.SignUpAttempt],
            (await api.Grains.GetGrain<IOutboxGrain>("target@example.com").List()).Select(m => m.Kind));

        api.Clock.Advance(TimeSpan.FromHours(1));
        (await SignUp(api, "user4@example.com", "203.0.113.7")).Expect(HttpStatusCode.Accepted);
    }

    [Fact]
    public async Task Password_resets_are_rate_limited_per_address_and_per_email_alike_for_registered_and_unknown_addresses()
    {
        var api = Api(new() { ["CloudDeck:Accounts:PasswordResetsPerAddress"] = "3", ["CloudDeck:Accounts:PasswordResetsPerEmail"] = "2" });
        var ada = await api.SignUpAndLoginAsync("ada@example.com");
        var answers = new Dictionary<string, Answer>();
        foreach (var email in new[] { ada.Email, "nobody@example.com" })
        {
            (await Reset(api, email, "192.0.2.1")).Expect(HttpStatusCode.Accepted);
            (await Reset(api, email, "192.0.2.2")).Expect(HttpStatusCode.Accepted);
            answers[email] = await Reset(api, email, "192.0.2.3");
            AssertLimited(answers[email], "for this email address");
        }

        Assert.Equal(answers[ada.Email].Json.Text("detail"), answers["nobody@example.com"].Json.Text("detail"));
        Assert.Equal(2, (await api.Grains.GetGrain<IOutboxGrain>(ada.Email).List()).Count(m => m.Kind == OutboxKinds.PasswordReset));

        for (var i = 0; i < 3; i++) (await Reset(api, $"someone{i}@example.com", "203.0.113.7")).Expect(HttpStatusCode.Accepted);
        AssertLimited(await Reset(api, "someone3@example.com", "203.0.113.7"), "from this address");
        (await Reset(api, "someone3@example.com", "198.51.100.9")).Expect(HttpStatusCode.Accepted);
    }

    [Fact]
    public async Task Organization_creation_is_rate_limited_per_address_and_per_user()
    {
        var api = Api(new() { ["CloudDeck:Accounts:OrganizationCreationsPerAddress"] = "3", ["CloudDeck:Accounts:OrganizationCreationsPerUser"] = "2" });
        var ada = await api.SignUpAndLoginAsync("ada@example.com");
        var bob = await api.SignUpAndLoginAsync("bob@example.com");
        (await CreateOrganization(api, ada, "ada-one", "203.0.113.7")).Expect(HttpStatusCode.Created);
        (await CreateOrganization(api, ada, "ada-two", "203.0.113.7")).Expect(HttpStatusCode.Created);
        AssertLimited(await CreateOrganization(api, ada, "ada-three", "198.51.100.9"), "by this account");

        (await CreateOrganization(api, bob, "bob-one", "203.0.113.7")).Expect(HttpStatusCode.Created);
        AssertLimited(await CreateOrganization(api, bob, "bob-two", "203.0.113.7"), "from this address");
        (await CreateOrganization(api, bob, "bob-two", "198.51.100.9")).Expect(HttpStatusCode.Created);
        (await api.GetAsync("/api/v1/orgs/ada-three", ada.AccessToken)).Expect(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_user_owns_at_most_MaxOrganizationsPerUser_organizations_counting_the_personal_one()
    {
        var api = Api(new() { ["CloudDeck:Accounts:MaxOrganizationsPerUser"] = "3" });
        var ada = await api.SignUpAndLoginAsync("ada@example.com", verifyEmail: true);
        var bob = await api.SignUpAndLoginAsync("bob@example.com", verifyEmail: true);
        (await CreateOrganization(api, ada, "ada-one", "203.0.113.7")).Expect(HttpStatusCode.Created);

        // Being a member of someone else's organization is not owning one.
        (await api.PostAsync($"/api/v1/orgs/{bob.PersonalOrganization}/invitations", new { email = ada.Email, role = "developer" }, bob.AccessToken))
            .Expect(HttpStatusCode.Created);
        (await api.PostAsync("/api/v1/invitations/accept", new { token = await api.TokenFromOutboxAsync(ada.Email, OutboxKinds.Invitation) }, ada.AccessToken))
            .Expect(HttpStatusCode.OK);
        (await CreateOrganization(api, ada, "ada-two", "203.0.113.7")).Expect(HttpStatusCode.Created);

        var refused = await CreateOrganization(api, ada, "ada-three", "203.0.113.7");
        var problem = refused.Expect(HttpStatusCode.Forbidden);
        Assert.Equal("application/problem+json", refused.MediaType);
        Assert.Contains("You own 3 organizations", problem.Text("detail"), StringComparison.Ordinal);
        (await api.GetAsync("/api/v1/orgs/ada-three", ada.AccessToken)).Expect(HttpStatusCode.NotFound);
        Assert.Equal(4, (await api.GetAsync("/api/v1/orgs", ada.AccessToken)).Expect(HttpStatusCode.OK).Items().Count);
        (await CreateOrganization(api, bob, "bob-one", "198.51.100.9")).Expect(HttpStatusCode.Created);
    }

    private static Task<Answer> Login(InProcessApi api, string email, string password, string address) =>
        api.PostAsync("/api/v1/auth/login", new { email, password }, clientAddress: address);

    private static Task<Answer> SignUp(InProcessApi api, string email, string address) =>
        api.PostAsync("/api/v1/auth/signup", new { email, password = InProcessApi.Password }, clientAddress: address);

    private static Task<Answer> Reset(InProcessApi api, string email, string address) =>
        api.PostAsync("/api/v1/auth/password-reset", new { email }, clientAddress: address);

    private static Task<Answer> CreateOrganization(InProcessApi api, Account owner, string slug, string address) =>
        api.PostAsync("/api/v1/orgs", new { slug, name = slug }, owner.AccessToken, address);

    private static void AssertLimited(Answer answer, string which)
    {
        var problem = answer.Expect(HttpStatusCode.TooManyRequests);
        Assert.Equal("application/problem+json", answer.MediaType);
        Assert.Equal(TimeSpan.FromHours(1), answer.RetryAfter);
        Assert.Contains(which, problem.Text("detail"), StringComparison.Ordinal);
    }

    /// <summary>The property names of a JSON object, in order.</summary>
    private static string Shape(JsonNode json) => string.Join(",", json.AsObject().Select(p => p.Key));

    public async ValueTask DisposeAsync()
    {
        foreach (var host in _hosts) await host.DisposeAsync();
    }
}
