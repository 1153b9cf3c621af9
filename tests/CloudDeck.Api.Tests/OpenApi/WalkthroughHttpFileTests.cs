using System.Security.Cryptography;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace CloudDeck.Api.Tests.OpenApi;

/// <summary>
/// docs/walkthrough.http, held against the checked-in openapi.json (which <see cref="OpenApiDocumentTests"/> holds against
/// the API): every request is an operation of the document, every JSON body names only fields of the operation's
/// request schema, every value read from an answer (<c>{{login.response.body.$.accessToken}}</c>) is a property of
/// that operation's success schema, and every uploaded file has the hash and size the requests give it.
/// </summary>
public sealed partial class WalkthroughHttpFileTests
{
    private static string WalkthroughPath => Path.Combine(RepoPaths.Root, "docs", "walkthrough.http");

    private sealed record Request(string Method, string Path, string? Name, string Body, int Line);

    [Fact]
    public void Every_request_of_the_walkthrough_is_an_operation_of_openapi_json_with_its_fields()
    {
        var document = JsonNode.Parse(File.ReadAllText(ServedApi.CheckedInPath))!.AsObject();
        var requests = Parse(File.ReadAllLines(WalkthroughPath));
        Assert.True(requests.Count >= 10, $"docs/walkthrough.http has only {requests.Count} requests.");
        var walked = requests.Select(r => $"{r.Method} {r.Path}").ToList();
        foreach (var step in new[] { "POST /api/v1/auth/signup", "POST /api/v1/auth/login", "POST /api/v1/orgs/ada/projects", "POST /api/v1/orgs/ada/projects/web/rollback" })
        {
            Assert.Contains(step, walked);
        }

        var failures = new List<string>();
        var operations = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        var files = new List<(string Sha256, long Size)>();
        foreach (var request in requests)
        {
            var at = $"walkthrough.http:{request.Line} {request.Method} {request.Path}";
            if (Operation(document, request) is not { } operation)
            {
                failures.Add($"{at}: no such operation in openapi.json");
                continue;
            }

            if (request.Name is not null) operations[request.Name] = operation;
            if (request.Body.StartsWith('<'))
            {
                var file = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(WalkthroughPath)!, request.Body[1..].Trim()));
                if (!File.Exists(file))
                {
                    failures.Add($"{at}: sends {file}, which does not exist");
                    continue;
                }

                var bytes = File.ReadAllBytes(file);
                var hash = Convert.ToHexStringLower(SHA256.HashData(bytes));
                files.Add((hash, bytes.Length));
                if (!request.Path.EndsWith("/" + hash, StringComparison.Ordinal)) failures.Add($"{at}: {file}'s SHA-256 is {hash}");
            }
            else if (request.Body.Length > 0)
            {
                var body = JsonNode.Parse(request.Body)!.AsObject();
                var schema = Resolve(document, operation["requestBody"]?["content"]?["application/json"]?["schema"]);
                var known = schema?["properties"]?.AsObject().Select(p => p.Key).ToHashSet() ?? [];
                foreach (var (field, _) in body.Where(field => !known.Contains(field.Key)))
                {
                    failures.Add($"{at}: the body's '{field}' is not a field of {operation["operationId"]}'s request ({string.Join(", ", known)})");
                }

                foreach (var manifest in body["files"]?.AsArray() ?? [])
                {
                    files.Add((manifest!["sha256"]!.GetValue<string>(), manifest["size"]!.GetValue<long>()));
                }
            }
        }

        Assert.True(requests.Count(r => r.Body.StartsWith('<')) >= 2, "The walkthrough should upload the two versions it deploys.");
        foreach (var (sha256, size) in files.Distinct())
        {
            if (!requests.Any(r => r.Method == "PUT" && r.Path.EndsWith("/" + sha256, StringComparison.Ordinal))) failures.Add($"{sha256} is deployed but never uploaded");
            if (files.Any(f => f.Sha256 == sha256 && f.Size != size)) failures.Add($"{sha256} is given two sizes");
        }

        var text = File.ReadAllText(WalkthroughPath);
        foreach (Match read in ResponseRead().Matches(text))
        {
            var (name, property) = (read.Groups["name"].Value, read.Groups["property"].Value);
            if (!operations.TryGetValue(name, out var operation))
            {
                failures.Add($"{{{{{name}.response…}}}}: no request is named {name}");
                continue;
            }

            var success = operation["responses"]!.AsObject().First(r => r.Key.StartsWith('2')).Value;
            var schema = Resolve(document, success?["content"]?["application/json"]?["schema"]);
            IEnumerable<JsonNode?> shapes = schema?["oneOf"]?.AsArray() is { } oneOf ? oneOf.Select(s => Resolve(document, s)) : [schema];
            if (!shapes.Any(shape => shape?["properties"]?[property] is not null))
            {
                failures.Add($"{{{{{name}.response.body.$.{property}}}}}: {operation["operationId"]}'s answer has no '{property}'");
            }
        }

        Assert.True(failures.Count == 0, "docs/walkthrough.http no longer matches openapi.json:\n" + string.Join("\n", failures));
    }

    /// <summary>Requests separated by ###: "# @name x", "METHOD URL", headers, a blank line, the body.</summary>
    private static List<Request> Parse(string[] lines)
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in lines)
        {
            if (FileVariable().Match(line) is { Success: true } variable) variables[variable.Groups["name"].Value] = variable.Groups["value"].Value.Trim();
        }

        string Substitute(string text) => Placeholder().Replace(text, match =>
            match.Groups["name"].Value == "host" ? "" : variables.TryGetValue(match.Groups["name"].Value, out var value) ? value : "x");

        var requests = new List<Request>();
        var index = 0;
        while (index < lines.Length)
        {
            string? name = null;
            for (; index < lines.Length && !RequestLine().IsMatch(lines[index]); index++)
            {
                if (RequestName().Match(lines[index]) is { Success: true } named) name = named.Groups["name"].Value;
                if (lines[index].StartsWith("###", StringComparison.Ordinal)) name = null;
            }

            if (index >= lines.Length) break;
            var start = index;
            var parts = lines[index++].Split(' ', 2);
            while (index < lines.Length && lines[index].Trim().Length > 0 && !lines[index].StartsWith("###", StringComparison.Ordinal)) index++;
            var body = new List<string>();
            for (; index < lines.Length && !lines[index].StartsWith("###", StringComparison.Ordinal); index++) body.Add(lines[index]);
            requests.Add(new Request(parts[0], Substitute(parts[1].Trim()), name, Substitute(string.Join("\n", body).Trim()), start + 1));
        }

        return requests;
    }

    private static JsonObject? Operation(JsonObject document, Request request)
    {
        foreach (var (template, item) in document["paths"]!.AsObject())
        {
            var pattern = "^" + Regex.Replace(Regex.Escape(template), @"\\\{[^}]+}", "[^/]+") + "$";
            if (Regex.IsMatch(request.Path.Split('?')[0], pattern) && item?[request.Method.ToLowerInvariant()] is JsonObject operation) return operation;
        }

        return null;
    }

    private static JsonNode? Resolve(JsonObject document, JsonNode? schema) =>
        schema?["$ref"]?.GetValue<string>() is { } reference
            ? document["components"]!["schemas"]![reference.Split('/')[^1]]
            : schema;

    [GeneratedRegex(@"^@(?<name>\w+)\s*=\s*(?<value>.*)$")]
    private static partial Regex FileVariable();

    [GeneratedRegex(@"\{\{(?<name>[\w.$]+)\}\}")]
    private static partial Regex Placeholder();

    [GeneratedRegex(@"^(GET|POST|PUT|PATCH|DELETE) \S+")]
    private static partial Regex RequestLine();

    [GeneratedRegex(@"^#\s*@name\s+(?<name>\w+)")]
    private static partial Regex RequestName();

    [GeneratedRegex(@"\{\{(?<name>\w+)\.response\.body\.\$\.(?<property>\w+)\}\}")]
    private static partial Regex ResponseRead();
}
