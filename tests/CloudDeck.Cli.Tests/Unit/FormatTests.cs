using System.Net;
using System.Text.Json.Nodes;
using CloudDeck.Cli.Api;
using CloudDeck.Cli.Commands;
using CloudDeck.Cli.Output;

namespace CloudDeck.Cli.Tests.Unit;

/// <summary>What deck prints: sizes, summaries, problem lines, and how it reads the API's snake_case answers.</summary>
public sealed class FormatTests
{
    [Theory]
    [InlineData(0, "0 B")]
    [InlineData(12, "12 B")]
    [InlineData(1023, "1023 B")]
    [InlineData(1024, "1 KiB")]
    [InlineData(1536, "1.5 KiB")]
    [InlineData(10 * 1024 * 1024 + 512 * 1024, "10.5 MiB")]
    [InlineData(300L * 1024 * 1024 * 1024, "300 GiB")]
    public void Bytes_are_binary_units_with_at_most_three_significant_digits(long bytes, string expected) =>
        Assert.Equal(expected, Format.Bytes(bytes));

    [Fact]
    public void The_upload_summary_counts_files_and_bytes_in_one_line()
    {
        Assert.Equal("uploaded 1 file (12 B), 999 already stored", Format.UploadSummary(1, 12, 999));
        Assert.Equal("uploaded 0 files (0 B), 3 already stored", Format.UploadSummary(0, 0, 3));
        Assert.Equal("uploaded 2 files (2 KiB), 0 already stored", Format.UploadSummary(2, 2048, 0));
    }

    [Fact]
    public void System_log_lines_are_marked_and_build_output_is_printed_as_is()
    {
        Assert.Equal("> vite build", Format.LogLine("stdout", "> vite build"));
        Assert.Equal("npm warn x", Format.LogLine("stderr", "npm warn x"));
        Assert.Equal("› build started", Format.LogLine("system", "build started"));
    }

    [Fact]
    public void Plain_tables_are_tab_separated_lines()
    {
        Assert.Equal(["a\tb", "c\t"], Format.PlainRows([["a", "b"], ["c", ""]]).ToArray());
    }

    [Theory]
    [InlineData("My Site_2", "my-site-2")]
    [InlineData("web", "web")]
    [InlineData("2024-landing", "landing")]
    [InlineData("---", "site")]
    [InlineData("Ünïcode App", "n-code-app")]
    public void Project_names_from_directory_names_are_DNS_labels(string directory, string expected) =>
        Assert.Equal(expected, ProjectCommands.ProjectName(directory));

    [Theory]
    [InlineData("http://1a739a64ee288801.localhost:8080", "web-acme.localhost", "http://web-acme.localhost:8080/")]
    [InlineData("https://1a739a64ee288801.deck.example.com", "web-acme.deck.example.com", "https://web-acme.deck.example.com/")]
    [InlineData(null, "web-acme.localhost", "web-acme.localhost")]
    public void The_production_host_is_shown_as_a_URL_like_the_deployments(string? deploymentUrl, string host, string expected) =>
        Assert.Equal(expected, DeployCommand.Production(deploymentUrl, host));

    [Fact]
    public void A_problem_is_one_line_with_its_title_status_detail_and_fields()
    {
        const string body = """
            {"type":"https://tools.ietf.org/html/rfc9110#section-15.5.1","title":"One or more validation errors occurred.","status":400,
             "detail":"files[0].path: must not contain '..'",
             "errors":{"files[0].path":["must not contain '..'"],"target":["must be production or preview"]}}
            """;

        var line = ApiException.Describe(HttpStatusCode.BadRequest, "Bad Request", body);

        Assert.Equal("One or more validation errors occurred. (400): files[0].path: must not contain '..'; target: must be production or preview", line);
        Assert.DoesNotContain('\n', line);
    }

    [Fact]
    public void A_non_JSON_error_body_is_shown_shortened_on_one_line()
    {
        var line = ApiException.Describe(HttpStatusCode.BadGateway, "Bad Gateway", "<html>\n<body>" + new string('x', 500) + "</body></html>");
        Assert.StartsWith("502 Bad Gateway: <html> <body>xxx", line, StringComparison.Ordinal);
        Assert.True(line.Length < 260);
        Assert.Equal("404 Not Found", ApiException.Describe(HttpStatusCode.NotFound, "Not Found", ""));
    }

    [Fact]
    public void Fields_are_read_by_their_one_snake_case_name_and_another_spelling_is_a_mistake_in_deck()
    {
        var snake = JsonNode.Parse("""{"build_id":"b1","created_at":"2026-01-01T00:00:00Z","sequence":3,"mfa_required":true}""");
        var camel = JsonNode.Parse("""{"buildId":"b2"}""");

        Assert.Equal("b1", Fields.Text(snake, "build_id"));
        Assert.Equal(3, Fields.Number(snake, "sequence"));
        Assert.True(Fields.Flag(snake, "mfa_required"));
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), Fields.Time(snake, "created_at"));
        // A camelCase answer is not the contract: its field is not there under the contract's name.
        Assert.Null(Fields.Text(camel, "build_id"));
        Assert.Throws<ArgumentException>(() => Fields.Text(snake, "buildId"));
    }

    [Fact]
    public void A_quota_refusal_is_described_from_its_typed_properties_not_its_detail_text()
    {
        const string body = """
            {"title":"Rate limit reached","status":429,"detail":"Your plan allows 2 deployments a day.",
             "limit":"deployments_per_day","current":2,"maximum":2,"resets_at":"2026-12-07T00:00:00+00:00"}
            """;

        var problem = ApiException.Parse(body)!;
        var line = ApiException.Describe(HttpStatusCode.TooManyRequests, "Too Many Requests", body, problem);

        Assert.Equal(("deployments_per_day", 2L, 2L), (problem.Limit, problem.Current, problem.Maximum));
        Assert.Equal(new DateTimeOffset(2026, 12, 7, 0, 0, 0, TimeSpan.Zero), problem.ResetsAt);
        Assert.Equal("Rate limit reached (429): Your plan allows 2 deployments a day.; deployments_per_day: 2 of 2, resets 2026-12-07 00:00 UTC", line);
    }

    [Fact]
    public void List_answers_are_read_bare_or_in_an_envelope()
    {
        Assert.Equal(2, Fields.Items(JsonNode.Parse("""[{"id":"a"},{"id":"b"}]""")).Count);
        Assert.Single(Fields.Items(JsonNode.Parse("""{"items":[{"id":"a"}],"next_cursor":"NA"}"""), "items"));
        Assert.Single(Fields.Items(JsonNode.Parse("""{"next":null,"items":[{"id":"a"}]}""")));
        Assert.Empty(Fields.Items(null));
    }
}
