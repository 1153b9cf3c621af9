using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CloudDeck.Testing;

/// <summary>
/// A real git server over HTTPS: Kestrel with a certificate from a CA of its own, running <c>git http-backend</c> (git's
/// smart HTTP protocol, as GitHub and GitLab speak it) as a CGI program for every request, behind HTTP Basic
/// authentication. Clients trust it through <see cref="CaCertificatePath"/> (<c>GIT_SSL_CAINFO</c>).
/// </summary>
public sealed class GitHttpsServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _requests;

    private GitHttpsServer(WebApplication app, string root, string caPath)
    {
        _app = app;
        Root = root;
        CaCertificatePath = caPath;
    }

    /// <summary>The directory whose bare repositories are served (<c>https://host:port/name.git</c>).</summary>
    public string Root { get; }

    /// <summary>PEM of the CA that signed the server's certificate.</summary>
    public string CaCertificatePath { get; }

    public int Port { get; private set; }

    /// <summary>Requests received, answered or refused.</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Starts serving the bare repositories under <paramref name="root"/> on <paramref name="address"/>, a free port.</summary>
    /// <param name="hostName">The name the certificate is for (besides <paramref name="address"/>).</param>
    public static async Task<GitHttpsServer> StartAsync(string root, IPAddress address, string hostName, string user, string password)
    {
        var (certificate, caPem) = IssueCertificate(hostName, address);
        var caPath = Path.Combine(root, "ca.pem");
        await File.WriteAllTextAsync(caPath, caPem);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(address, 0, listen => listen.UseHttps(certificate)));
        var app = builder.Build();
        var server = new GitHttpsServer(app, root, caPath);
        var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));
        app.Run(http => server.ServeAsync(http, expected, user));
        await app.StartAsync();
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        server.Port = new Uri(bound).Port;
        return server;
    }

    /// <summary>Creates a bare repository <c>name.git</c> whose main branch holds <paramref name="files"/>.</summary>
    public async Task CreateRepositoryAsync(string name, IReadOnlyDictionary<string, string> files)
    {
        var work = Directory.CreateTempSubdirectory("clouddeck-git-work-").FullName;
        try
        {
            await GitAsync(work, "init", "--quiet", "--initial-branch", "main");
            foreach (var (path, text) in files) await File.WriteAllTextAsync(Path.Combine(work, path), text);
            await GitAsync(work, "add", ".");
            await GitAsync(work, "-c", "user.name=Test", "-c", "user.email=test@example.com", "commit", "--quiet", "-m", "files");
            await GitAsync(Root, "clone", "--quiet", "--bare", work, Path.Combine(Root, name + ".git"));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private async Task ServeAsync(HttpContext http, string expectedAuthorization, string user)
    {
        Interlocked.Increment(ref _requests);
        if (http.Request.Headers.Authorization.ToString() != expectedAuthorization)
        {
            http.Response.StatusCode = StatusCodes.Status401Unauthorized;
            http.Response.Headers.WWWAuthenticate = "Basic realm=\"git\"";
            return;
        }

        var start = new ProcessStartInfo("git", ["http-backend"])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        var request = http.Request;
        foreach (var (name, value) in new Dictionary<string, string>
                 {
                     ["GIT_PROJECT_ROOT"] = Root, ["GIT_HTTP_EXPORT_ALL"] = "1", ["GIT_CONFIG_NOSYSTEM"] = "1",
                     ["GATEWAY_INTERFACE"] = "CGI/1.1", ["SERVER_PROTOCOL"] = "HTTP/1.1", ["REQUEST_METHOD"] = request.Method,
                     ["PATH_INFO"] = request.Path.Value ?? "/", ["QUERY_STRING"] = request.QueryString.Value?.TrimStart('?') ?? "",
                     ["CONTENT_TYPE"] = request.ContentType ?? "", ["REMOTE_USER"] = user, ["REMOTE_ADDR"] = http.Connection.RemoteIpAddress?.ToString() ?? "",
                     ["HTTP_CONTENT_ENCODING"] = request.Headers.ContentEncoding.ToString(), ["GIT_PROTOCOL"] = request.Headers["Git-Protocol"].ToString(),
                 })
        {
            start.Environment[name] = value;
        }

        using var backend = Process.Start(start)!;
        var body = Task.Run(async () =>
        {
            await request.Body.CopyToAsync(backend.StandardInput.BaseStream);
            backend.StandardInput.Close();
        });
        var errors = backend.StandardError.ReadToEndAsync();
        var output = backend.StandardOutput.BaseStream;
        await WriteCgiResponseAsync(output, http.Response);
        await body;
        await backend.WaitForExitAsync();
        await errors;
    }

    /// <summary>CGI output: header lines (<c>Status: 200 OK</c> among them) up to a blank line, then the body.</summary>
    private static async Task WriteCgiResponseAsync(Stream output, HttpResponse response)
    {
        var header = new List<byte>();
        while (true)
        {
            var next = output.ReadByte();
            if (next < 0) break;
            header.Add((byte)next);
            var count = header.Count;
            if (count >= 2 && header[count - 1] == '\n' && (header[count - 2] == '\n' || (count >= 4 && header[count - 2] == '\r' && header[count - 3] == '\n')))
            {
                break;
            }
        }

        foreach (var line in Encoding.ASCII.GetString([.. header]).Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var (name, value) = (line[..colon].Trim(), line[(colon + 1)..].Trim());
            if (name.Equals("Status", StringComparison.OrdinalIgnoreCase)) response.StatusCode = int.Parse(value.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
            else response.Headers.Append(name, value);
        }

        await output.CopyToAsync(response.Body);
    }

    private static (X509Certificate2 Certificate, string CaPem) IssueCertificate(string hostName, IPAddress address)
    {
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=CloudDeck test git CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var now = DateTimeOffset.UtcNow;
        using var ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));

        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={hostName}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(hostName);
        names.AddIpAddress(address);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var issued = request.Create(ca, now.AddMinutes(-5), now.AddDays(1), RandomNumberGenerator.GetBytes(16));
        using var withKey = issued.CopyWithPrivateKey(key);
        // Through PKCS#12 so that the key is one SslStream can use on every platform.
        var certificate = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pfx), null);
        return (certificate, ca.ExportCertificatePem());
    }

    private static async Task GitAsync(string directory, params string[] arguments)
    {
        var start = new ProcessStartInfo("git", arguments) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        using var git = Process.Start(start)!;
        var output = git.StandardOutput.ReadToEndAsync();
        var errors = git.StandardError.ReadToEndAsync();
        await git.WaitForExitAsync();
        if (git.ExitCode != 0) throw new InvalidOperationException($"git {string.Join(' ', arguments)} exited with {git.ExitCode}: {await errors}{await output}");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
