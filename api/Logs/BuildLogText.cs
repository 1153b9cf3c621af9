using System.Text;
using Actors.Runtime;

namespace CloudDeck.Api.Logs;

/// <summary>
/// The stored log as plain text, one line per log line, read page by page and written as it is read: a log of a
/// million lines is never held in memory. It is the log as it was when the request came: lines appended meanwhile
/// are left for the next request (or for <c>?follow=true</c>).
/// </summary>
public sealed class BuildLogText(OpenedBuildLog opened, int pageSize) : IResult
{
    public async Task ExecuteAsync(HttpContext http)
    {
        var aborted = http.RequestAborted;
        http.Response.ContentType = "text/plain; charset=utf-8";
        var body = http.Response.BodyWriter;
        var last = opened.LastLine;
        var from = new StreamSequenceToken(Math.Max(1, opened.Info.FirstRetained));
        while (from.SequenceNumber <= last)
        {
            var page = await opened.Log.ReadAsync(from, (int)Math.Min(pageSize, last - from.SequenceNumber + 1));
            if (page.Items.Count == 0) break;
            foreach (var item in page.Items)
            {
                if (item.Token.SequenceNumber > last) break;
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
