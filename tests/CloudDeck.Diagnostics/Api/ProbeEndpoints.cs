using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces.Diagnostics;

namespace CloudDeck.Api.Endpoints;

/// <summary>
/// <c>PUT/GET /_diag/probe/{key}</c> (test hosts only, see <see cref="DiagnosticEndpointsFilter"/>): write and read a
/// probe value through a grain, to check that the silo's storage survives restarts.
/// </summary>
public static class ProbeEndpoints
{
    private const int MaxKeyLength = 128;
    private const int MaxValueLength = 4096;

    public sealed record ProbeWrite(string? Value, bool Stage = false);

    public static IEndpointRouteBuilder MapProbeEndpoints(this IEndpointRouteBuilder app)
    {
        // Test-only: kept out of the API's OpenAPI document, which is checked in as openapi.json.
        var group = app.MapGroup("/_diag/probe").ExcludeFromDescription();
        group.MapPut("/{key}", async (string key, ProbeWrite body, IGrainFactory grains) =>
        {
            if (Validate(key, body.Value) is { } problem)
            {
                return problem;
            }

            var probe = grains.GetGrain<IProbeGrain>(key);
            return Results.Ok(body.Stage ? await probe.Stage(body.Value!) : await probe.Write(body.Value!));
        });
        group.MapGet("/{key}", async (string key, IGrainFactory grains) =>
            Validate(key, string.Empty) ?? Results.Ok(await grains.GetGrain<IProbeGrain>(key).Read()));
        return app;
    }

    private static IResult? Validate(string key, string? value)
    {
        if (key.Length > MaxKeyLength || !key.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            return Results.Problem(statusCode: 400, title: "Invalid probe key",
                detail: $"A probe key is 1–{MaxKeyLength} characters of letters, digits, '-', '_' or '.'.");
        }

        if (value is null || value.Length > MaxValueLength)
        {
            return Results.Problem(statusCode: 400, title: "Invalid probe value",
                detail: $"Send {{\"value\": \"…\"}} with at most {MaxValueLength} characters.");
        }

        return null;
    }
}
