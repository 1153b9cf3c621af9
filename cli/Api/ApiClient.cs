using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using CloudDeck.Cli.Config;

namespace CloudDeck.Cli.Api;

/// <summary>
/// HTTP to the CloudDeck API: bearer auth, ProblemDetails turned into <see cref="ApiException"/>, and a stored session
/// renewed once through its refresh token when the access token has expired (401), so a login lasts the refresh
/// token's lifetime instead of the access token's 15 minutes.
/// </summary>
public sealed class ApiClient : IDisposable
{
    /// <summary>Ordinary calls; uploads and followed logs run without a deadline and stop by cancellation instead.</summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(100);

    private readonly HttpClient _http;
    private readonly AuthStore? _store;
    private readonly SemaphoreSlim _refreshing = new(1, 1);
    private string? _bearer;
    private StoredCredentials? _session;

    /// <param name="bearer">An explicit token (--token, $CLOUDDECK_TOKEN): used as is, never refreshed or stored.</param>
    /// <param name="store">Where the stored session comes from when no explicit token is given; null for none.</param>
    public ApiClient(Uri baseAddress, string? bearer, AuthStore? store, HttpMessageHandler? handler = null)
    {
        BaseAddress = baseAddress;
        _http = handler is null ? new HttpClient() : new HttpClient(handler);
        _http.BaseAddress = baseAddress;
        _http.Timeout = Timeout.InfiniteTimeSpan;
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("deck", Program.Version.Split('+')[0]));
        _store = store;
        _bearer = bearer;
        if (bearer is null && store?.Get(baseAddress) is { } stored)
        {
            _session = stored;
            _bearer = stored.Bearer;
        }
    }

    public Uri BaseAddress { get; }

    public bool HasCredentials => _bearer is not null;

    /// <summary>Sends JSON (or nothing) and answers the parsed JSON body (null for an empty one).</summary>
    /// <exception cref="ApiException">A non-success status.</exception>
    public async Task<JsonNode?> SendAsync(HttpMethod method, string path, JsonNode? body = null, CancellationToken cancellationToken = default)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(RequestTimeout);
        try
        {
            using var response = await SendAsync(() =>
            {
                var request = new HttpRequestMessage(method, Relative(path));
                if (body is not null) request.Content = Json(body);
                return request;
            }, HttpCompletionOption.ResponseContentRead, deadline.Token);
            var text = await response.Content.ReadAsStringAsync(deadline.Token);
            return string.IsNullOrWhiteSpace(text) ? null : JsonNode.Parse(text);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ApiException(HttpStatusCode.RequestTimeout, $"{method} {new Uri(BaseAddress, path)} did not answer within {RequestTimeout.TotalSeconds:0} s");
        }
    }

    public Task<JsonNode?> GetAsync(string path, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, path, null, cancellationToken);

    public Task<JsonNode?> PostAsync(string path, JsonNode? body, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, path, body, cancellationToken);

    /// <summary>
    /// The items of a list route, page after page (<c>limit</c>, then each page's <c>next_cursor</c>), until
    /// <paramref name="max"/> items or the last page.
    /// </summary>
    public async Task<IReadOnlyList<JsonNode>> ListAsync(string path, int max = int.MaxValue, CancellationToken cancellationToken = default)
    {
        const int largestPage = 100;
        var items = new List<JsonNode>();
        string? cursor = null;
        do
        {
            var limit = Math.Min(largestPage, max - items.Count);
            var separator = path.Contains('?', StringComparison.Ordinal) ? '&' : '?';
            var page = await GetAsync($"{path}{separator}limit={limit}{(cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor))}", cancellationToken);
            items.AddRange(Fields.Items(page, "items").Take(max - items.Count));
            cursor = Fields.Text(page, "next_cursor");
        }
        while (cursor is not null && items.Count < max);
        return items;
    }

    /// <summary>
    /// Sends the request <paramref name="create"/> makes (called again for the retry after a refresh, since a sent
    /// request cannot be reused) and answers the successful response, still unread.
    /// </summary>
    /// <exception cref="ApiException">A non-success status; the body was read for the message.</exception>
    public async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> create, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        var used = _bearer;
        var response = await SendOnceAsync(create, completion, cancellationToken);
        if (response.StatusCode == HttpStatusCode.Unauthorized && await RefreshAsync(used, cancellationToken))
        {
            response.Dispose();
            response = await SendOnceAsync(create, completion, cancellationToken);
        }

        if (response.IsSuccessStatusCode) return response;
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            var problem = ApiException.Parse(body);
            var message = ApiException.Describe(response.StatusCode, response.ReasonPhrase, body, problem);
            // A bare status ("Not Found (404 Not Found)") says nothing about what was missing: name the request.
            if (!message.Contains(':', StringComparison.Ordinal) && response.RequestMessage is { } sent)
            {
                message = $"{sent.Method} {sent.RequestUri?.AbsolutePath}: {message}";
            }

            // A refused login is about the password, not about being logged in: no hint there.
            var signingIn = response.RequestMessage?.RequestUri?.AbsolutePath.Contains("/api/v1/auth/", StringComparison.Ordinal) == true;
            if (response.StatusCode == HttpStatusCode.Unauthorized && !signingIn)
            {
                message += _bearer is null ? " (not logged in: run deck login)" : " (run deck login again)";
            }

            throw new ApiException(response.StatusCode, message, problem);
        }
    }

    /// <summary>Drops the stored session of this API (and ends it on the server when it has a refresh token).</summary>
    public async Task<bool> LogoutAsync(CancellationToken cancellationToken)
    {
        if (_store is null) return false;
        if (_store.Get(BaseAddress) is { RefreshToken: { } refresh })
        {
            try
            {
                using var response = await _http.PostAsync(Relative("api/v1/auth/logout"), Json(new JsonObject { ["refresh_token"] = refresh }), cancellationToken);
            }
            catch (HttpRequestException)
            {
                // Offline logout still forgets the credentials locally, which is what the user asked for.
            }
        }

        return _store.Remove(BaseAddress);
    }

    private async Task<HttpResponseMessage> SendOnceAsync(Func<HttpRequestMessage> create, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        using var request = create();
        if (_bearer is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _bearer);
        try
        {
            return await _http.SendAsync(request, completion, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new ApiException(HttpStatusCode.ServiceUnavailable, $"cannot reach {BaseAddress}: {e.Message}");
        }
    }

    /// <returns>true when a new access token is there to retry with.</returns>
    private async Task<bool> RefreshAsync(string? rejected, CancellationToken cancellationToken)
    {
        if (_session?.RefreshToken is null || _store is null) return false;
        await _refreshing.WaitAsync(cancellationToken);
        try
        {
            // Parallel uploads all get 401 at once: the first refreshes, the others retry with its token.
            if (_bearer != rejected) return true;
            using var response = await _http.PostAsync(Relative("api/v1/auth/refresh"), Json(new JsonObject { ["refresh_token"] = _session.RefreshToken }), cancellationToken);
            if (!response.IsSuccessStatusCode) return false;
            var pair = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            _session = Sessions.FromTokenPair(pair, _session.Email);
            _bearer = _session.Bearer;
            _store.Set(BaseAddress, _session);
            return _bearer is not null;
        }
        finally
        {
            _refreshing.Release();
        }
    }

    /// <summary>
    /// JSON with a Content-Length: JsonContent streams chunked, which some proxies and simple servers refuse, and the
    /// bodies deck sends are small enough to hold in memory. Bodies are JSON nodes spelled in the API's snake_case, so
    /// nothing is serialized by reflection (deck is also compiled ahead of time).
    /// </summary>
    public static HttpContent Json(JsonNode body)
    {
        var content = new ByteArrayContent(System.Text.Encoding.UTF8.GetBytes(body.ToJsonString()));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        return content;
    }

    /// <summary>Paths are relative so an API below a path prefix (http://host/deck/) keeps its prefix.</summary>
    public static Uri Relative(string path) => new(path.TrimStart('/'), UriKind.Relative);

    public void Dispose()
    {
        _http.Dispose();
        _refreshing.Dispose();
    }
}

public static class Sessions
{
    /// <summary>The stored form of a login's or refresh's token pair.</summary>
    public static StoredCredentials FromTokenPair(JsonNode? pair, string? email) => new()
    {
        Email = email,
        AccessToken = Fields.Text(pair, "access_token"),
        AccessTokenExpiresAt = Fields.Time(pair, "access_token_expires_at"),
        RefreshToken = Fields.Text(pair, "refresh_token"),
    };
}
