using System.CommandLine;
using System.Net.Http.Json;
using CloudDeck.Cli.Output;

namespace CloudDeck.Cli.Commands;

/// <summary><c>deck health</c>: does the API answer GET /healthz with status ok? Needs no login.</summary>
public static class HealthCommand
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public static Command Create()
    {
        var command = new Command("health", "Check that the CloudDeck API answers GET /healthz.");
        command.SetAction(Program.Guarded((parse, cancellationToken) => RunAsync(Context.ResolveApi(parse.GetValue(Context.ApiOption)), cancellationToken)));
        return command;
    }

    private static async Task<int> RunAsync(Uri api, CancellationToken cancellationToken)
    {
        var url = new Uri(api, "healthz");
        using var http = new HttpClient { Timeout = Timeout };
        try
        {
            using var response = await http.GetAsync(url, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                var body = await response.Content.ReadAsStringAsync(cancellationToken);
                Terminal.Error($"{url} answered {(int)response.StatusCode} {response.ReasonPhrase}{(body.Length > 0 ? ": " + body : "")}");
                return Program.Failed;
            }

            var health = await response.Content.ReadFromJsonAsync(HealthJson.Default.HealthView, cancellationToken);
            if (health?.Status != "ok")
            {
                Terminal.Error($"{url} reports status '{health?.Status}'");
                return Program.Failed;
            }

            Console.WriteLine($"ok ({health.Activations} activations)");
            return Program.Ok;
        }
        catch (HttpRequestException e)
        {
            Terminal.Error($"cannot reach {url}: {e.Message}");
            return Program.Failed;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Terminal.Error($"{url} did not answer within {Timeout.TotalSeconds:0} s");
            return Program.Failed;
        }
        catch (System.Text.Json.JsonException e)
        {
            Terminal.Error($"{url} did not answer with CloudDeck health JSON: {e.Message}");
            return Program.Failed;
        }
    }
}

internal sealed record HealthView(string? Status, int Activations);

/// <summary>The health answer's shape, generated at compile time (deck is also compiled ahead of time, without reflection).</summary>
[System.Text.Json.Serialization.JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web)]
[System.Text.Json.Serialization.JsonSerializable(typeof(HealthView))]
internal sealed partial class HealthJson : System.Text.Json.Serialization.JsonSerializerContext;
