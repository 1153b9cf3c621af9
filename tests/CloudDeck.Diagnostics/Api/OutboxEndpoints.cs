using CloudDeck.GrainInterfaces.Mail;

namespace CloudDeck.Api.Endpoints;

/// <summary>
/// <c>GET /_diag/outbox/{email}</c> (test hosts only, see <see cref="DiagnosticEndpointsFilter"/>): the emails queued for an
/// address (kind, subject, link), so a test driving a real API process clicks the link a user would get, as the in-process
/// tests read the outbox grain. The address is normalized as sign-up normalizes it (trimmed, lower case).
/// </summary>
public static class OutboxEndpoints
{
    public sealed record QueuedEmail(string Kind, string Subject, string Link, DateTimeOffset CreatedAt);

    public static IEndpointRouteBuilder MapOutboxEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/_diag/outbox/{email}", async (string email, IGrainFactory grains) =>
        {
            if (email.Length is 0 or > 254 || !email.Contains('@', StringComparison.Ordinal))
            {
                return Results.Problem(statusCode: 400, title: "Invalid email", detail: "email: must be an email address.");
            }

            var messages = await grains.GetGrain<IOutboxGrain>(email.Trim().ToLowerInvariant()).List();
            return Results.Ok(messages.Select(m => new QueuedEmail(m.Kind, m.Subject, m.Link, m.CreatedAt)).ToList());
        })
            .ExcludeFromDescription();
        return app;
    }
}
