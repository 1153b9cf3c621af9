using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using CloudDeck.GrainInterfaces.Deployments;

namespace CloudDeck.Edge.Bench;

/// <summary>
/// Publishes the bench's site the way a user does, through the API's REST contract only: sign up, create a project,
/// upload the files in batches, deploy them to production (no build commands: the upload is its own output), wait
/// until ready. Answers the deployment's id and the production host that serves it.
/// </summary>
internal static class SitePublisher
{
    private const string Password = "correct horse battery staple";

    /// <summary>Under the API's default CloudDeck:Artifacts:MaxBatchBytes (64 MiB), with room to spare.</summary>
    private const long BatchBytes = 16L * 1024 * 1024;

    public static async Task<(string DeploymentId, string Host)> PublishAsync(Uri api, DeploymentManifest manifest, string siteDirectory)
    {
        using var http = new HttpClient { BaseAddress = api, Timeout = TimeSpan.FromMinutes(5) };
        await ApiCalls.CallAsync(http, HttpMethod.Post, "api/v1/auth/signup", new { email = "bench@example.com", password = Password });
        var login = await ApiCalls.CallAsync(http, HttpMethod.Post, "api/v1/auth/login", new { email = "bench@example.com", password = Password });
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", login["access_token"]!.GetValue<string>());
        var org = await ApiCalls.PersonalOrganizationAsync(http);
        await ApiCalls.CallAsync(http, HttpMethod.Post, $"api/v1/orgs/{org}/projects", new { name = "site" });

        var files = manifest.Files.Select(f => new { path = f.Path, sha256 = f.Sha256, size = f.Size }).ToArray();
        var missing = (await ApiCalls.CallAsync(http, HttpMethod.Post, $"api/v1/orgs/{org}/files/missing", new { files }))["missing"]!.AsArray()
            .Select(m => m!.GetValue<string>()).ToHashSet(StringComparer.Ordinal);
        var toUpload = manifest.Files.Where(f => missing.Remove(f.Sha256)).ToList();
        for (var start = 0; start < toUpload.Count;)
        {
            var batch = new List<ManifestFile>();
            long bytes = 0;
            while (start < toUpload.Count && (batch.Count == 0 || bytes + toUpload[start].Size <= BatchBytes))
            {
                bytes += toUpload[start].Size;
                batch.Add(toUpload[start++]);
            }

            await UploadBatchAsync(http, org, batch, siteDirectory);
        }

        var id = (await ApiCalls.CallAsync(http, HttpMethod.Post, $"api/v1/orgs/{org}/projects/site/deployments", new { target = "production", files }))["id"]!.GetValue<string>();
        for (var waited = Stopwatch.StartNew(); ; await Task.Delay(100))
        {
            var status = (await ApiCalls.CallAsync(http, HttpMethod.Get, $"api/v1/deployments/{id}", null))["status"]!.GetValue<string>();
            if (status == "ready") break;
            if (status is "failed" or "canceled" or "timed_out" || waited.Elapsed > TimeSpan.FromMinutes(2)) throw new InvalidOperationException($"deployment {id}: {status}");
        }

        var host = (await ApiCalls.CallAsync(http, HttpMethod.Get, $"api/v1/orgs/{org}/projects/site", null))["production_host"]?.GetValue<string>()
            ?? throw new InvalidOperationException("the project answered no production_host");
        return (id, host);
    }

    /// <summary>The batch body: per file "&lt;sha256&gt; &lt;size&gt;\n" then its bytes.</summary>
    private static async Task UploadBatchAsync(HttpClient http, string org, IReadOnlyList<ManifestFile> batch, string siteDirectory)
    {
        using var body = new MemoryStream();
        foreach (var file in batch)
        {
            body.Write(Encoding.ASCII.GetBytes($"{file.Sha256} {file.Size}\n"));
            body.Write(await File.ReadAllBytesAsync(Path.Combine(siteDirectory, file.Path)));
        }

        using var content = new ByteArrayContent(body.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await http.PostAsync($"api/v1/orgs/{org}/files/batch", content);
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"files/batch answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }
}
