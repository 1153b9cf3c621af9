using System.Net;
using System.Net.Http.Headers;
using System.Text;
using CloudDeck.Api.Tests.Accounts;

namespace CloudDeck.Api.Tests.Http;

/// <summary>
/// Input that used to reach a handler and throw there (a 500): strings that are not text (a lone surrogate escape,
/// invalid UTF-8 bytes), keys given twice, a billing period whose end is past the calendar. Each is a 400 naming the
/// field, on every route that reads JSON, because the body is checked once where it is read.
/// </summary>
public sealed class BadJsonInputTests : IAsyncDisposable
{
    private const string LoneSurrogate = "\\ud800";

    private readonly InProcessApi _api = new();

    private static ByteArrayContent Raw(string before, byte[] bytes, string after)
    {
        var content = new ByteArrayContent([.. Encoding.UTF8.GetBytes(before), .. bytes, .. Encoding.UTF8.GetBytes(after)]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    private static void Names(Answer answer, string field) =>
        Assert.Contains(field, answer.Expect(HttpStatusCode.BadRequest)["errors"]!.AsObject().Select(e => e.Key));

    [Fact]
    public async Task A_lone_surrogate_or_invalid_utf8_in_any_string_is_a_400_naming_the_field()
    {
        var owner = await _api.SignUpAndLoginAsync("ada@example.com");
        var org = owner.PersonalOrganization;
        (await _api.PostAsync($"/api/v1/orgs/{org}/projects", new { name = "web" }, owner.AccessToken)).Expect(HttpStatusCode.Created);

        Names(await _api.PostAsync("/api/v1/auth/signup", $$"""{"email":"eve{{LoneSurrogate}}@example.com","password":"correct horse battery"}"""), "email");
        Names(await _api.PostAsync("/api/v1/auth/login", Raw("""{"email":"ada""", [0xC3, 0x28], """@example.com","password":"x"}""")), "email");
        Names(await _api.PostAsync("/api/v1/orgs", $$"""{"slug":"team-one","name":"Team {{LoneSurrogate}}"}""", owner.AccessToken), "name");
        Names(await _api.PostAsync($"/api/v1/orgs/{org}/projects", $$"""{"name":"site","build_command":"npm run {{LoneSurrogate}}"}""", owner.AccessToken), "build_command");
        Names(await _api.SendAsync(HttpMethod.Put, $"/api/v1/orgs/{org}/projects/web/env/production/TOKEN", Raw("""{"value":"s3""", [0xFF, 0xFE], "\"}"), owner.AccessToken), "value");
        Names(await _api.PostAsync($"/api/v1/orgs/{org}/projects/web/deployments",
            $$"""{"target":"preview","files":[{"path":"a{{LoneSurrogate}}.html","sha256":"{{new string('a', 64)}}","size":1}]}""", owner.AccessToken), "files[0].path");
        Names(await _api.PostAsync($"/api/v1/orgs/{org}/files/missing",
            $$"""{"files":[{"path":"a{{LoneSurrogate}}.html","sha256":"{{new string('a', 64)}}","size":1}]}""", owner.AccessToken), "files[0].path");
        Names(await _api.PostAsync("/api/v1/usage/events",
            $$"""{"org":"{{org}}","events":[{"id":"e{{LoneSurrogate}}","kind":"requests","quantity":1}]}""", owner.AccessToken), "events[0].id");
    }

    [Fact]
    public async Task A_key_given_twice_in_one_object_is_a_400_naming_it()
    {
        var owner = await _api.SignUpAndLoginAsync("ada@example.com");
        var org = owner.PersonalOrganization;

        Names(await _api.PostAsync("/api/v1/auth/login", """{"email":"ada@example.com","password":"x","email":"eve@example.com"}"""), "email");
        Names(await _api.PostAsync($"/api/v1/orgs/{org}/projects", """{"name":"web","name":"other"}""", owner.AccessToken), "name");
        Names(await _api.PostAsync($"/api/v1/orgs/{org}/files/missing",
            $$"""{"files":[{"sha256":"{{new string('a', 64)}}","size":1,"sha256":"{{new string('b', 64)}}"}]}""", owner.AccessToken), "files[0].sha256");
        Assert.Empty((await _api.GetAsync($"/api/v1/orgs/{org}/projects", owner.AccessToken)).Expect(HttpStatusCode.OK).Items());
    }

    [Fact]
    public async Task A_billing_period_past_the_calendar_is_a_400_naming_period()
    {
        var owner = await _api.SignUpAndLoginAsync("ada@example.com");

        Names(await _api.GetAsync($"/api/v1/orgs/{owner.PersonalOrganization}/usage?period=9999-12", owner.AccessToken), "period");
        (await _api.GetAsync($"/api/v1/orgs/{owner.PersonalOrganization}/usage?period=2026-11", owner.AccessToken)).Expect(HttpStatusCode.OK);
    }

    public async ValueTask DisposeAsync() => await _api.DisposeAsync();
}
