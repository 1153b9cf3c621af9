using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;

namespace Actors.Bench;

/// <summary>
/// The bench executable also runs as the other processes it measures against: a silo (`--silo db cluster`) and a
/// raw TCP echo server (`--echo`); the license bench adds `--kestrel`. Each prints "READY …" on stdout once it serves.
/// </summary>
internal static class BenchProcesses
{
    public static async Task<int> RunSiloAsync(string connectionString, string clusterId)
    {
        using var silo = await BenchSilo.StartAsync(connectionString, clusterId);
        Console.WriteLine($"READY {BenchSilo.Address(silo)}");
        await silo.WaitForShutdownAsync();
        return 0;
    }

    /// <summary>Echoes every frame back as it is: the floor for a request/response over one TCP connection.</summary>
    public static async Task<int> RunEchoAsync()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        Console.WriteLine($"READY {((IPEndPoint)listener.LocalEndpoint).Port}");
        while (true)
        {
            var socket = await listener.AcceptSocketAsync();
            socket.NoDelay = true;
            _ = Task.Run(async () =>
            {
                using var stream = new NetworkStream(socket, ownsSocket: true);
                var reader = System.IO.Pipelines.PipeReader.Create(stream);
                var writer = System.IO.Pipelines.PipeWriter.Create(stream);
                var length = new byte[4];
                try
                {
                    while (true)
                    {
                        var result = await reader.ReadAsync();
                        var buffer = result.Buffer;
                        // Echo whole frames only, all that arrived, in one flush: the same batching the transport does.
                        var consumed = 0L;
                        while (buffer.Length - consumed >= 4)
                        {
                            buffer.Slice(consumed, 4).CopyTo(length);
                            var frame = 4 + BinaryPrimitives.ReadInt32BigEndian(length);
                            if (buffer.Length - consumed < frame)
                            {
                                break;
                            }

                            foreach (var segment in buffer.Slice(consumed, frame))
                            {
                                writer.Write(segment.Span);
                            }

                            consumed += frame;
                        }

                        await writer.FlushAsync();
                        reader.AdvanceTo(buffer.GetPosition(consumed), buffer.End);
                        if (result.IsCompleted)
                        {
                            return;
                        }
                    }
                }
                catch (IOException)
                {
                }
            });
        }
    }

    /// <summary>Starts this executable in another mode and waits for its READY line.</summary>
    public static async Task<(Process Process, string Ready)> StartAsync(params string[] arguments)
    {
        var self = Environment.ProcessPath!;
        var start = new ProcessStartInfo(self) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            start.ArgumentList.Add(typeof(BenchProcesses).Assembly.Location);
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start)!;
        _ = process.StandardError.ReadToEndAsync();
        while (await process.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("READY ", StringComparison.Ordinal))
            {
                _ = process.StandardOutput.ReadToEndAsync();
                return (process, line["READY ".Length..]);
            }
        }

        throw new InvalidOperationException($"{string.Join(' ', arguments)} exited before it was ready.");
    }
}
