using CloudDeck.Testing;

namespace CloudDeck.Api.Tests.Edge;

/// <summary>
/// A real node:http server for the proxy to talk to (also the app the end-to-end tests deploy), started on a free
/// loopback port. Paths: <c>/headers</c> answers what it was sent, <c>/chunked</c> sends a first chunk and holds the
/// rest until <c>/release</c>, <c>/upload</c> hashes the body while <c>/progress</c> tells how much has arrived, <c>/hang</c> never answers, a
/// WebSocket upgrade echoes every message with "echo:" in front, and anything else says hello with its label and port.
/// The label comes from LABEL or label.txt; the label "broken" (or BROKEN=1 in its environment) answers 503 to everything.
/// </summary>
public sealed class NodeUpstream : IAsyncDisposable
{
    public const string Script = """
        const http = require('http');
        const crypto = require('crypto');
        const port = Number(process.env.PORT);
        const fs = require('fs');
        const label = process.env.LABEL || (fs.existsSync('label.txt') ? fs.readFileSync('label.txt', 'utf8').trim() : 'v1');
        let held = null;
        let uploaded = 0;
        const server = http.createServer((req, res) => {
          const path = new URL(req.url, 'http://any').pathname;
          if (label === 'broken' || process.env.BROKEN === '1') {
            // A deployment that never becomes healthy.
            res.statusCode = 503;
            res.end('not healthy');
          } else if (path === '/headers') {
            res.setHeader('content-type', 'application/json');
            res.end(JSON.stringify({ host: req.headers.host, forwardedFor: req.headers['x-forwarded-for'] ?? null,
              forwardedProto: req.headers['x-forwarded-proto'] ?? null, forwardedHost: req.headers['x-forwarded-host'] ?? null,
              forwarded: req.headers['forwarded'] ?? null, method: req.method, url: req.url }));
          } else if (path === '/chunked') {
            res.writeHead(200, { 'content-type': 'text/plain' });
            res.write('first\n');
            held = res;
          } else if (path === '/release') {
            if (held) { held.end('last\n'); held = null; res.end('released'); } else { res.statusCode = 409; res.end('nothing held'); }
          } else if (path === '/upload') {
            const hash = crypto.createHash('sha256');
            uploaded = 0;
            req.on('data', chunk => { uploaded += chunk.length; hash.update(chunk); });
            req.on('end', () => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify({ bytes: uploaded, sha256: hash.digest('hex'), label })); });
          } else if (path === '/hang') {
            // Never answers: the proxy's timeout has to end it.
          } else if (path === '/fill') {
            // Writes ?mb= MiB into files beside the app, 1 MiB each; answers how many such files it now holds.
            const mb = Number(new URL(req.url, 'http://any').searchParams.get('mb') || '0');
            const start = fs.readdirSync('.').filter(f => f.startsWith('fill-')).length;
            for (let i = 0; i < mb; i++) fs.writeFileSync(`fill-${start + i}.bin`, Buffer.alloc(1024 * 1024, 1));
            res.end(`holding ${fs.readdirSync('.').filter(f => f.startsWith('fill-')).length} files`);
          } else if (path === '/progress') {
            res.end(String(uploaded));
          } else {
            res.setHeader('content-type', 'text/plain');
            res.end(`hello from ${label} on ${port}`);
          }
        });
        function frame(opcode, payload) {
          const length = payload.length;
          let header;
          if (length < 126) header = Buffer.from([0x80 | opcode, length]);
          else if (length < 65536) { header = Buffer.alloc(4); header[0] = 0x80 | opcode; header[1] = 126; header.writeUInt16BE(length, 2); }
          else { header = Buffer.alloc(10); header[0] = 0x80 | opcode; header[1] = 127; header.writeBigUInt64BE(BigInt(length), 2); }
          return Buffer.concat([header, payload]);
        }
        server.on('upgrade', (req, socket) => {
          const accept = crypto.createHash('sha1').update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
          socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
          let pending = Buffer.alloc(0);
          socket.on('error', () => {});
          socket.on('data', data => {
            pending = Buffer.concat([pending, data]);
            while (pending.length >= 2) {
              const opcode = pending[0] & 0x0f;
              let length = pending[1] & 0x7f;
              let offset = 2;
              if (length === 126) { if (pending.length < 4) return; length = pending.readUInt16BE(2); offset = 4; }
              else if (length === 127) { if (pending.length < 10) return; length = Number(pending.readBigUInt64BE(2)); offset = 10; }
              const masked = (pending[1] & 0x80) !== 0;
              const maskAt = offset;
              if (masked) offset += 4;
              if (pending.length < offset + length) return;
              let payload = Buffer.from(pending.subarray(offset, offset + length));
              if (masked) for (let i = 0; i < payload.length; i++) payload[i] ^= pending[maskAt + (i % 4)];
              pending = pending.subarray(offset + length);
              if (opcode === 8) { socket.end(frame(8, payload.subarray(0, 2))); return; }
              if (opcode === 9) socket.write(frame(10, payload));
              else if (opcode === 1 || opcode === 2) socket.write(frame(opcode, Buffer.concat([Buffer.from('echo:'), payload])));
            }
          });
        });
        server.listen(port, '127.0.0.1', () => console.log(`listening on ${port}`));
        """;

    private readonly string _directory;

    private NodeUpstream(ChildProcess process, int port, string directory)
    {
        Process = process;
        Port = port;
        _directory = directory;
    }

    public static string? MissingReason => Requirement.Check(NodeHarness.Node is not null, "node", "apt-get install nodejs");

    public ChildProcess Process { get; }

    public int Port { get; }

    public string Prefix => $"http://127.0.0.1:{Port}";

    public static async Task<NodeUpstream> StartAsync(string label = "v1", CancellationToken cancellationToken = default)
    {
        var directory = Directory.CreateTempSubdirectory("clouddeck-upstream-").FullName;
        var script = Path.Combine(directory, "server.js");
        await File.WriteAllTextAsync(script, Script, cancellationToken);
        var port = ChildProcess.FreeTcpPort();
        var process = ChildProcess.Start(NodeHarness.Node!, [script], new Dictionary<string, string?> { ["PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture), ["LABEL"] = label }, directory);
        var upstream = new NodeUpstream(process, port, directory);
        try
        {
            await process.WaitForOutputAsync(line => line.Contains($"listening on {port}", StringComparison.Ordinal), TimeSpan.FromSeconds(30), cancellationToken);
            return upstream;
        }
        catch
        {
            await upstream.DisposeAsync();
            throw;
        }
    }

    /// <summary>Kills the process and waits until it is gone, so its port refuses connections.</summary>
    public async Task StopAsync()
    {
        Process.Kill();
        await Process.WaitForExitAsync(TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        await Process.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
