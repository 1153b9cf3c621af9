using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using CloudDeck.Deploy.Bench;

namespace CloudDeck.Dashboard.Bench;

/// <summary>What the pages show: a few projects, one with a ready production deployment; and the synthetic builds whose logs are followed.</summary>
internal sealed class BenchSetup
{
    private readonly HttpClient _http;
    private readonly string _org;

    private BenchSetup(HttpClient http, string org, string deploymentId)
    {
        _http = http;
        _org = org;
        DeploymentId = deploymentId;
    }

    public string DeploymentId { get; }

    public static async Task<BenchSetup> CreateAsync(ApiServer api, string email, string org)
    {
        var http = new HttpClient { BaseAddress = api.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await api.LoginAsync(email));
        foreach (var name in new[] { "site", "docs", "shop", "blog" })
        {
            await ExpectAsync(await http.PostAsJsonAsync($"api/v1/orgs/{org}/projects", new { name, framework = "static" }));
        }

        var content = Encoding.UTF8.GetBytes("<h1>dashboard bench</h1>");
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(content));
        using (var upload = await http.PutAsync($"api/v1/orgs/{org}/files/{sha256}", new ByteArrayContent(content)))
        {
            if (!upload.IsSuccessStatusCode) throw new InvalidOperationException($"upload answered {(int)upload.StatusCode}");
        }

        var created = await ExpectAsync(await http.PostAsJsonAsync($"api/v1/orgs/{org}/projects/site/deployments",
            new { target = "production", files = new[] { new { path = "index.html", sha256, size = content.Length } } }));
        var id = created["id"]!.GetValue<string>();
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while ((await ExpectAsync(await http.GetAsync($"api/v1/deployments/{id}")))["status"]!.GetValue<string>() != "ready")
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"deployment {id} was not ready within 2 minutes");
            await Task.Delay(200);
        }

        return new BenchSetup(http, org, id);
    }

    /// <summary>A synthetic build (test hosts' <c>_diag/builds</c>) whose log a grain writes at <paramref name="rate"/> lines/s, each stamped when appended.</summary>
    public async Task<string> StartSyntheticBuildAsync(int lines, int rate) =>
        (await ExpectAsync(await _http.PostAsJsonAsync("_diag/builds", new { org = _org, lines, lines_per_second = rate, line_bytes = 100 })))["id"]!.GetValue<string>();

    /// <summary>Each line's append time (Unix milliseconds), from the finished log's Server-Sent Events.</summary>
    public async Task<Dictionary<long, double>> LineTimesAsync(string buildId)
    {
        var times = new Dictionary<long, double>();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"api/v1/builds/{buildId}/logs?follow=true");
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var eventName = "";
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("event:", StringComparison.Ordinal)) eventName = line[6..].Trim();
            else if (line.StartsWith("data:", StringComparison.Ordinal) && eventName == "line")
            {
                var data = JsonNode.Parse(line[5..])!;
                var time = DateTimeOffset.Parse(data["time"]!.GetValue<string>(), CultureInfo.InvariantCulture);
                times[data["line"]!.GetValue<long>()] = (time - DateTimeOffset.UnixEpoch).TotalMilliseconds;
            }
            else if (eventName is "completed") break;
        }

        return times;
    }

    private static async Task<JsonNode> ExpectAsync(HttpResponseMessage response)
    {
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{response.RequestMessage?.RequestUri} answered {(int)response.StatusCode}: {text}");
            return JsonNode.Parse(text)!;
        }
    }
}
