using System.Globalization;

namespace CloudDeck.Api.Http;

/// <summary>
/// Refuses a request whose Host is not a host name ASP.NET Core can read: an <c>xn--</c> label that is not valid
/// punycode (<c>xn--web-alice-.localhost</c>) makes <c>HttpRequest.Host</c> throw wherever it is read, so the request
/// ended in a 500 or a dropped connection with a stack trace each time. It gets a 400 here, first in the pipeline, from
/// the raw header; the refusal is logged at most once per <see cref="LogInterval"/>, so a flood cannot fill the log.
/// </summary>
public sealed partial class HostHeaderCheck(ILogger<HostHeaderCheck> logger, TimeProvider clock)
{
    public static readonly TimeSpan LogInterval = TimeSpan.FromMinutes(1);

    private static readonly IdnMapping Idn = new() { AllowUnassigned = false, UseStd3AsciiRules = false };

    private long _nextLogTicks;
    private long _refusedSinceLog;

    public async Task InvokeAsync(HttpContext http, RequestDelegate next)
    {
        var raw = http.Request.Headers.Host.ToString();
        if (IsReadable(raw))
        {
            await next(http);
            return;
        }

        var refused = Interlocked.Increment(ref _refusedSinceLog);
        var now = clock.GetUtcNow().UtcTicks;
        var due = Interlocked.Read(ref _nextLogTicks);
        if (now >= due && Interlocked.CompareExchange(ref _nextLogTicks, now + LogInterval.Ticks, due) == due)
        {
            Interlocked.Exchange(ref _refusedSinceLog, 0);
            LogRefused(logger, raw, refused, LogInterval);
        }

        await JsonBody.FieldProblem("host", "must be a valid host name (an xn-- label of the Host header is not valid punycode)").ExecuteAsync(http);
    }

    /// <summary>Whether every <c>xn--</c> label of the host decodes (the only part of a Host that Kestrel lets through and ASP.NET Core cannot read).</summary>
    public static bool IsReadable(string host)
    {
        if (!host.Contains("xn--", StringComparison.OrdinalIgnoreCase)) return true;
        try
        {
            // What HttpRequest.Host does with it; the port, if any, is not part of the name.
            _ = HostString.FromUriComponent(host).Host;
            foreach (var label in new HostString(host).Host.Split('.'))
            {
                if (label.StartsWith("xn--", StringComparison.OrdinalIgnoreCase)) _ = Idn.GetUnicode(label);
            }

            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Refused a request whose Host header is not a valid host name: {Host} ({Refused} refused since the last such message; logged at most once every {Interval})")]
    private static partial void LogRefused(ILogger logger, string host, long refused, TimeSpan interval);

    public static IApplicationBuilder UseHostHeaderCheck(IApplicationBuilder app)
    {
        var check = ActivatorUtilities.CreateInstance<HostHeaderCheck>(app.ApplicationServices);
        return app.Use(next => http => check.InvokeAsync(http, next));
    }
}
