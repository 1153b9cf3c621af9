using System.Text;
using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces.Builds;

namespace CloudDeck.Api.Logs;

/// <summary>
/// The stored log as plain text, one line per log line, read page by page and written as it is read: a log of a
/// million lines is never held in memory. It is the log as it was when the request came: lines appended meanwhile
/// are left for the next request (or for <c>?follow=true</c>).
/// </summary>
/// <remarks>Any log of <see cref="BuildLogLine"/>s reads the same way: a server's runtime log too.</remarks>
public sealed class BuildLogText(ILogStream<BuildLogLine> log, LogStreamInfo info, long lastLine, int pageSize) : IResult
{
    public BuildLogText(OpenedBuildLog opened, int pageSize)
        : this(opened.Log, opened.Info, opened.LastLine, pageSize)
    {
    }

    public async Task ExecuteAsync(HttpContext http)
    {
        var aborted = http.RequestAborted;
        http.Response.ContentType = "text/plain; charset=utf-8";
        var body = http.Response.BodyWriter;
        var last = lastLine;
        var from = new LogPosition(Math.Max(1, info.FirstRetained));
        while (from.SequenceNumber <= last)
        {
            var page = await log.ReadAsync(from, (int)Math.Min(pageSize, last - from.SequenceNumber + 1));
            if (page.Items.Count == 0) break;
            foreach (var item in page.Items)
            {
                if (item.Position.SequenceNumber > last) break;
                var text = item.Item.Text;
                var span = body.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length) + 1);
                var written = Encoding.UTF8.GetBytes(text, span);
                span[written] = (byte)'\n';
                body.Advance(written + 1);
            }

            await body.FlushAsync(aborted);
            from = page.Next(from);
        }
    }
}
