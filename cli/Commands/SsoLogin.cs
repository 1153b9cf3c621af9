using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Web;
using CloudDeck.Cli.Api;
using CloudDeck.Cli.Config;

namespace CloudDeck.Cli.Commands;

/// <summary>
/// <c>deck login --sso &lt;provider&gt;</c>: the loopback flow of RFC 8252. deck listens on 127.0.0.1 on a port the system
/// picks, sends the browser to the API's start URL with that address and a PKCE challenge, waits for the browser to come
/// back with a one-time code, and trades it (with the verifier only deck knows) for a session.
/// </summary>
public static class SsoLogin
{
    /// <summary>How long deck waits for the person to finish in the browser.</summary>
    public static readonly TimeSpan Wait = TimeSpan.FromMinutes(5);

    public static async Task<StoredCredentials> LoginAsync(Context context, string provider, bool openBrowser, string? mfaCode, CancellationToken cancellationToken)
    {
        var verifier = Base64Url(RandomNumberGenerator.GetBytes(32));
        var challenge = Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var redirect = $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/callback";
        var start = new Uri(context.Api, $"api/v1/auth/sso/{Uri.EscapeDataString(provider)}/start?redirect_uri={Uri.EscapeDataString(redirect)}" +
                                         $"&code_challenge={challenge}&code_challenge_method=S256");
        context.Out.Line($"Open this address in a browser to sign in with {provider}:");
        context.Out.Line(start.AbsoluteUri);
        if (openBrowser) TryOpenBrowser(start);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Wait);
        var query = await ReceiveCallbackAsync(listener, timeout.Token);
        if (query["error"] is { } error)
        {
            throw new ApiException(HttpStatusCode.Forbidden, $"sign-in with {provider} failed: {query["error_description"] ?? error}");
        }

        var code = query["code"] ?? throw new ApiException(HttpStatusCode.BadGateway, "the browser came back without a code");
        using var client = new ApiClient(context.Api, null, store: null);
        var answer = await client.PostAsync("api/v1/auth/sso/token", new JsonObject { ["code"] = code, ["code_verifier"] = verifier }, cancellationToken);
        if (Fields.Flag(answer, "mfa_required"))
        {
            mfaCode ??= !Console.IsInputRedirected && context.Out.Rich ? Spectre.Console.AnsiConsole.Ask<string>("Authenticator code:")
                : throw new UsageException("this account needs a two-factor code: pass --code");
            answer = await client.PostAsync("api/v1/auth/login/mfa", new JsonObject { ["challenge"] = Fields.Text(answer, "challenge"), ["code"] = mfaCode.Trim() }, cancellationToken);
        }

        var accessToken = Sessions.FromTokenPair(answer, null).AccessToken
                          ?? throw new ApiException(HttpStatusCode.BadGateway, "the sign-in answer had no access token");
        using var signedIn = new ApiClient(context.Api, accessToken, store: null);
        return Sessions.FromTokenPair(answer, Fields.Text(await signedIn.GetAsync("api/v1/me", cancellationToken), "email"));
    }

    /// <summary>Answers the first GET to /callback with a page saying to go back to the terminal, and returns its query.</summary>
    private static async Task<System.Collections.Specialized.NameValueCollection> ReceiveCallbackAsync(TcpListener listener, CancellationToken cancellationToken)
    {
        while (true)
        {
            TcpClient connection;
            try
            {
                connection = await listener.AcceptTcpClientAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                throw new UsageException($"no sign-in came back within {Wait.TotalMinutes:0} minutes");
            }

            using (connection)
            {
                var stream = connection.GetStream();
                using var reader = new StreamReader(stream, Encoding.ASCII, leaveOpen: true);
                var requestLine = await reader.ReadLineAsync(cancellationToken) ?? "";
                var target = requestLine.Split(' ') is [_, var path, ..] ? path : "";
                var isCallback = target.StartsWith("/callback", StringComparison.Ordinal);
                var page = isCallback ? "Signed in to CloudDeck: you can close this tab and go back to the terminal." : "Not found.";
                var status = isCallback ? "200 OK" : "404 Not Found";
                var body = Encoding.UTF8.GetBytes($"<!doctype html><meta charset=utf-8><title>CloudDeck</title><p>{page}</p>");
                var head = Encoding.ASCII.GetBytes($"HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n");
                await stream.WriteAsync(head, cancellationToken);
                await stream.WriteAsync(body, cancellationToken);
                if (!isCallback) continue;
                var question = target.IndexOf('?', StringComparison.Ordinal);
                return HttpUtility.ParseQueryString(question < 0 ? "" : target[(question + 1)..]);
            }
        }
    }

    private static void TryOpenBrowser(Uri address)
    {
        var opener = OperatingSystem.IsMacOS() ? "open" : OperatingSystem.IsWindows() ? "explorer" : "xdg-open";
        try
        {
            using var process = Process.Start(new ProcessStartInfo(opener, address.AbsoluteUri) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true });
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // No browser opener here (a server, a container): the address printed above is the way.
        }
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
