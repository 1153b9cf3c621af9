using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace CloudDeck.Api.Tests.OpenApi;

/// <summary>
/// The OpenAPI document the real API process serves at /openapi/v1.json: every operation says who it is, what it takes,
/// what it answers and how it refuses; it is the checked-in openapi.json, so a contract change is a deliberate diff;
/// and /docs renders it.
/// </summary>
public sealed class OpenApiDocumentTests(ServedApi api) : IClassFixture<ServedApi>
{
    private const string Regenerate = "If the change is meant, regenerate the file with `./build.sh openapi` and commit it with the change.";

    private static readonly string[] ProblemMembers = ["type", "title", "status", "detail", "instance"];

    private static readonly string[] Methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Every_operation_has_an_id_a_summary_a_tag_a_success_schema_and_its_refusals()
    {
        var document = await api.DocumentAsync(Cancellation);
        var schemes = document["components"]?["securitySchemes"]?.AsObject();
        Assert.True(schemes is not null, "The document declares no security schemes.");
        foreach (var (name, format) in new[] { ("session", "JWT"), ("api_token", "cdk_<owner>.<id>.<secret>") })
        {
            Assert.True(schemes[name] is JsonObject scheme && Text(scheme, "type") == "http" && Text(scheme, "scheme") == "bearer"
                        && Text(scheme, "bearerFormat") == format, $"Security scheme '{name}' should be an HTTP bearer scheme ({format}): {schemes[name]}");
        }

        // Refusals carry their data as typed properties, so the document names them (snake_case, as the API writes them).
        var problems = document["components"]?["schemas"];
        foreach (var (shape, properties) in new[]
                 {
                     ("ProblemDetails", ProblemMembers),
                     ("ValidationProblem", new[] { "title", "status", "detail", "errors", "field" }),
                     ("QuotaProblem", new[] { "title", "status", "detail", "limit", "current", "maximum", "resets_at" }),
                 })
        {
            var declared = problems?[shape]?["properties"]?.AsObject().Select(p => p.Key).ToList() ?? [];
            Assert.True(properties.All(declared.Contains), $"Schema {shape} should have {string.Join(", ", properties)}; it has {string.Join(", ", declared)}.");
        }

        var failures = new List<string>();
        var operationIds = new Dictionary<string, string>(StringComparer.Ordinal);
        var operations = Operations(document).ToList();
        Assert.True(operations.Count >= 60, $"The document lists only {operations.Count} operations.");
        foreach (var (route, operation) in operations)
        {
            void Fail(string problem) => failures.Add($"{route}: {problem}");

            var id = Text(operation, "operationId");
            if (string.IsNullOrWhiteSpace(id)) Fail("no operationId (.Describe(...))");
            else if (!operationIds.TryAdd(id, route)) Fail($"operationId '{id}' is also {operationIds[id]}'s");
            if (string.IsNullOrWhiteSpace(Text(operation, "summary"))) Fail("no summary");
            if (operation["tags"] is not JsonArray { Count: > 0 }) Fail("no tag");

            var responses = operation["responses"]?.AsObject() ?? [];
            var statuses = responses.Select(r => r.Key).ToHashSet(StringComparer.Ordinal);
            // A route a browser navigates (sign-in with an identity provider) succeeds with a redirect that says where to.
            var redirects = responses.Where(r => r.Key.StartsWith('3')).ToList();
            if (!statuses.Any(s => s.StartsWith('2')) && redirects.Count == 0) Fail("no 2xx or 3xx response");
            foreach (var (status, response) in redirects)
            {
                if (response?["headers"]?["Location"] is null) Fail($"{status} does not describe its Location header (.AnswersRedirect)");
            }

            foreach (var (status, response) in responses)
            {
                var content = response?["content"]?.AsObject();
                if (status.StartsWith('2'))
                {
                    if (status != "204" && (content is null || content.Count == 0 || content.Any(media => media.Value?["schema"] is null)))
                    {
                        Fail($"{status} has no body schema (only 204 may answer nothing: .Answers<T>({status}))");
                    }
                }
                else if (status[0] is '4' or '5')
                {
                    // Any ProblemDetails shape (those with typed extension members too); a 400 names its fields.
                    var schema = content?["application/problem+json"]?["schema"]?["$ref"]?.GetValue<string>()?.Split('/')[^1];
                    var members = schema is null ? [] : problems?[schema]?["properties"]?.AsObject().Select(p => p.Key).ToList() ?? [];
                    if (!ProblemMembers.All(members.Contains)) Fail($"{status} is not application/problem+json ProblemDetails (.Refuses({status}))");
                    else if (status == "400" && schema != "ValidationProblem") Fail($"400 is {schema}, not the ValidationProblem that names the fields");
                }
            }

            var parameters = operation["parameters"]?.AsArray().Select(p => p!) ?? [];
            var inPath = parameters.Any(p => Text(p, "in") == "path");
            if ((inPath || operation["requestBody"] is not null) && !statuses.Contains("400")) Fail("takes input but declares no 400");
            if (inPath && !statuses.Contains("404")) Fail("names a resource in its path but declares no 404");
            if (operation["security"] is JsonArray { Count: > 0 } security)
            {
                if (!statuses.Contains("401") || !statuses.Contains("403")) Fail("requires sign-in but does not declare both 401 and 403");
                foreach (var scheme in security.SelectMany(requirement => requirement!.AsObject().Select(r => r.Key)))
                {
                    if (!schemes.ContainsKey(scheme)) Fail($"names security scheme '{scheme}', which the document does not declare");
                }
            }
        }

        Assert.True(failures.Count == 0, "Operations the OpenAPI document does not describe fully (see api/OpenApi/EndpointDocs.cs):\n" + string.Join("\n", failures));
    }

    [Fact]
    public async Task The_served_document_is_the_checked_in_openapi_json()
    {
        var served = await api.DocumentAsync(Cancellation);
        Assert.True(File.Exists(ServedApi.CheckedInPath), $"{ServedApi.CheckedInPath} is missing. {Regenerate}");
        var checkedIn = JsonNode.Parse(await File.ReadAllTextAsync(ServedApi.CheckedInPath, Cancellation))!;
        var differences = new List<string>();
        Compare(checkedIn, served, "", differences);
        Assert.True(differences.Count == 0,
            $"The API's {ServedApi.DocumentPath} differs from the checked-in openapi.json ({differences.Count} difference(s); "
            + "'-' is the checked-in file, '+' what the API serves):\n"
            + string.Join("\n", differences.Take(60)) + (differences.Count > 60 ? $"\n… and {differences.Count - 60} more" : "")
            + $"\n{Regenerate}");
    }

    [Fact]
    public async Task Docs_renders_the_API_reference_from_the_document_on_the_API_host_only()
    {
        using var page = await api.Host.Http.GetAsync(new Uri("/docs/", UriKind.Relative), Cancellation);
        var html = await page.Content.ReadAsStringAsync(Cancellation);
        Assert.True(page.StatusCode == HttpStatusCode.OK, $"GET /docs/ answered {(int)page.StatusCode}: {html}");
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<title>CloudDeck API</title>", html, StringComparison.Ordinal);
        // The page loads the document from this host (openapi/v1.json beside /docs/) and its script from /docs itself.
        Assert.Contains("\"url\":\"openapi/v1.json\"", html, StringComparison.Ordinal);
        Assert.Contains("<script src=\"scalar.js\">", html, StringComparison.Ordinal);
        Assert.DoesNotContain("https://", html, StringComparison.Ordinal);

        using var script = await api.Host.Http.GetAsync(new Uri("/docs/scalar.js", UriKind.Relative), Cancellation);
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);
        Assert.True((await script.Content.ReadAsByteArrayAsync(Cancellation)).Length > 100_000, "/docs/scalar.js should be Scalar's bundle, served locally.");

        // Scalar's script resolves the source against the origin and the path above /docs/: the document's own route.
        using var documentAnswer = await api.Host.Http.GetAsync(new Uri(ServedApi.DocumentPath, UriKind.Relative), Cancellation);
        Assert.Equal(HttpStatusCode.OK, documentAnswer.StatusCode);

        // On a deployment's host /docs is the site's own path: the edge answers, not the API reference.
        using var request = new HttpRequestMessage(HttpMethod.Get, "/docs/");
        request.Headers.Host = "site-nobody.localhost";
        using var edge = await api.Host.Http.SendAsync(request, Cancellation);
        var edgeBody = await edge.Content.ReadAsStringAsync(Cancellation);
        Assert.Equal(HttpStatusCode.NotFound, edge.StatusCode);
        Assert.Contains("CloudDeck edge", edgeBody, StringComparison.Ordinal);
        Assert.DoesNotContain("scalar", edgeBody, StringComparison.OrdinalIgnoreCase);
    }

    private static IEnumerable<(string Route, JsonObject Operation)> Operations(JsonObject document)
    {
        foreach (var (path, item) in document["paths"]!.AsObject())
        {
            foreach (var (method, operation) in item!.AsObject())
            {
                if (Methods.Contains(method)) yield return ($"{method.ToUpperInvariant()} {path}", operation!.AsObject());
            }
        }
    }

    private static string? Text(JsonNode node, string property) =>
        node[property] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    /// <summary>Differences as JSON paths, so a changed field reads as one line rather than a text diff of the whole file.</summary>
    private static void Compare(JsonNode? expected, JsonNode? actual, string at, List<string> differences)
    {
        if (expected is JsonObject expectedObject && actual is JsonObject actualObject)
        {
            foreach (var (key, value) in expectedObject)
            {
                if (!actualObject.ContainsKey(key)) differences.Add($"- {Member(at, key)}: {Short(value)}");
                else Compare(value, actualObject[key], Member(at, key), differences);
            }

            foreach (var (key, value) in actualObject)
            {
                if (!expectedObject.ContainsKey(key)) differences.Add($"+ {Member(at, key)}: {Short(value)}");
            }
        }
        else if (expected is JsonArray expectedArray && actual is JsonArray actualArray && expectedArray.Count == actualArray.Count)
        {
            for (var i = 0; i < expectedArray.Count; i++) Compare(expectedArray[i], actualArray[i], $"{at}[{i}]", differences);
        }
        else if (!JsonNode.DeepEquals(expected, actual))
        {
            differences.Add($"- {at}: {Short(expected)}\n+ {at}: {Short(actual)}");
        }
    }

    /// <summary>paths["/api/v1/me"].get.responses.403</summary>
    private static string Member(string at, string key) =>
        key.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-') ? (at.Length == 0 ? key : $"{at}.{key}") : $"{at}[\"{key}\"]";

    private static readonly JsonSerializerOptions Compact = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static string Short(JsonNode? node)
    {
        var text = node?.ToJsonString(Compact) ?? "null";
        return text.Length <= 200 ? text : text[..200] + "…";
    }
}
