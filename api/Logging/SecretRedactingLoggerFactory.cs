using System.Collections;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CloudDeck.Api.Logging;

/// <summary>
/// The logger factory every logger of the API comes from, wrapped so that no log line carries an
/// <c>access_token=…</c> from a URL. SignalR's browser transports must send the bearer token in the query string,
/// and ASP.NET Core logs request URLs with their query (hosting's "Request starting …", Kestrel's bad requests) before
/// any middleware could strip it; so the redaction sits where every message passes: the message and every structured
/// value of the state are redacted before any provider sees them.
/// </summary>
public sealed partial class SecretRedactingLoggerFactory(ILoggerFactory inner) : ILoggerFactory
{
    private const string Marker = "access_token";

    public ILogger CreateLogger(string categoryName) => new RedactingLogger(inner.CreateLogger(categoryName));

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    public void Dispose() => inner.Dispose();

    public static bool NeedsRedaction(string? text) => text is not null && text.Contains(Marker, StringComparison.OrdinalIgnoreCase);

    /// <summary>"…?id=1&amp;access_token=eyJ…" → "…?id=1&amp;access_token=[redacted]" (also URL-encoded and JSON forms).</summary>
    public static string Redact(string text) => NeedsRedaction(text) ? TokenValue().Replace(text, "$1[redacted]") : text;

    [GeneratedRegex("""(access_token(?:=|%3D|"\s*:\s*"))[^&\s"'#]*""", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex TokenValue();

    private sealed class RedactingLogger(ILogger inner) : ILogger
    {
        // Scopes pass through: ASP.NET Core's scopes carry the request path and ids, never the query.
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!inner.IsEnabled(logLevel)) return;
            string message;
            try
            {
                message = formatter(state, exception);
            }
            catch (ArgumentException e)
            {
                // A message that cannot be written (hosting's "Request starting" reads a Host that is not valid
                // punycode): logging must not end the request, and the line says what it could.
                inner.Log(logLevel, eventId, new RedactedState($"[{eventId.Name ?? eventId.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)}: not formatted ({e.GetType().Name})]", null),
                    exception, static (redacted, _) => redacted.Message);
                return;
            }

            var values = state as IReadOnlyList<KeyValuePair<string, object?>>;
            if (!NeedsRedaction(message) && (values is null || !values.Any(pair => NeedsRedaction(Text(pair.Value)))))
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
                return;
            }

            inner.Log(logLevel, eventId, new RedactedState(Redact(message), values), exception, static (redacted, _) => redacted.Message);
        }

        private static string? Text(object? value) => value switch
        {
            null => null,
            string text => text,
            IFormattable => null, // numbers, dates, enums: nothing a token could hide in
            _ => value.ToString(),
        };

        /// <summary>The message and the structured values, each redacted; what structured providers (JSON console) print.</summary>
        private sealed class RedactedState(string message, IReadOnlyList<KeyValuePair<string, object?>>? values)
            : IReadOnlyList<KeyValuePair<string, object?>>
        {
            private readonly KeyValuePair<string, object?>[] _values = values is null
                ? []
                : [.. values.Select(pair => NeedsRedaction(Text(pair.Value)) ? new KeyValuePair<string, object?>(pair.Key, Redact(Text(pair.Value)!)) : pair)];

            public string Message { get; } = message;

            public int Count => _values.Length;

            public KeyValuePair<string, object?> this[int index] => _values[index];

            public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)_values).GetEnumerator();

            IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

            public override string ToString() => Message;
        }
    }
}

public static class SecretRedactingLoggingExtensions
{
    /// <summary>Replaces the logger factory with one that redacts tokens; call after logging is configured.</summary>
    public static IServiceCollection AddSecretRedactingLogging(this IServiceCollection services)
    {
        services.Replace(ServiceDescriptor.Singleton<ILoggerFactory>(provider =>
            new SecretRedactingLoggerFactory(ActivatorUtilities.CreateInstance<LoggerFactory>(provider))));
        return services;
    }
}
