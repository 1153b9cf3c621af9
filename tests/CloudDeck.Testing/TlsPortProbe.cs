using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace CloudDeck.Testing;

/// <summary>What a listening port did with one TLS connection attempt.</summary>
public sealed record TlsProbeResult(bool Admitted, string? ServerCertificateSubject, string Detail);

/// <summary>Tries a port the way an outsider would: a TLS handshake presenting some certificate (or none).</summary>
public static class TlsPortProbe
{
    /// <summary>
    /// Connects to 127.0.0.1:<paramref name="port"/>, completes a TLS handshake accepting any server certificate, then
    /// waits for the server's verdict on the client certificate: under TLS 1.3 a refused client learns it only on its
    /// first read (an alert, or the connection closed). Admitted means the connection was still open and silent after
    /// <paramref name="verdictWindow"/>, as an Orleans listener is while it waits for the peer's preamble.
    /// </summary>
    public static async Task<TlsProbeResult> ConnectAsync(int port, X509Certificate2? clientCertificate, TimeSpan verdictWindow, CancellationToken cancellationToken)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
        await using var tls = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = "probe",
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
            ClientCertificates = clientCertificate is null ? null : [clientCertificate],
        };
        try
        {
            await tls.AuthenticateAsClientAsync(options, cancellationToken);
        }
        catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException)
        {
            return new TlsProbeResult(false, null, "handshake failed: " + e.Message);
        }

        var serverSubject = tls.RemoteCertificate?.Subject;
        using var window = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        window.CancelAfter(verdictWindow);
        try
        {
            var read = await tls.ReadAsync(new byte[256], window.Token);
            return read == 0
                ? new TlsProbeResult(false, serverSubject, "closed by the server after the handshake")
                : new TlsProbeResult(true, serverSubject, $"the server sent {read} bytes");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new TlsProbeResult(true, serverSubject, "open and waiting for the client");
        }
        catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException)
        {
            return new TlsProbeResult(false, serverSubject, "refused after the handshake: " + e.Message);
        }
    }
}
