using System.Text;
using CloudDeck.Cli.Logs;

namespace CloudDeck.Cli.Tests.Unit;

/// <summary>The event-stream format, as the API's build log endpoint writes it and as the spec defines it.</summary>
public sealed class SseParserTests
{
    [Fact]
    public async Task Reads_the_build_log_stream_skipping_retry_and_heartbeats()
    {
        const string wire = "retry: 1000\n\n" +
                            "id: 1\nevent: line\ndata: {\"buildId\":\"b\",\"line\":1,\"stream\":\"stdout\",\"text\":\"hello\"}\n\n" +
                            ": heartbeat\n\n" +
                            "id: 2\r\nevent: line\r\ndata: {\"line\":2,\"text\":\"world\"}\r\n\r\n" +
                            "event: completed\ndata: {\"buildId\":\"b\",\"status\":\"succeeded\"}\n\n";
        var parser = new SseParser();

        var events = new List<ServerSentEvent>();
        await foreach (var e in parser.ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(wire)), TestContext.Current.CancellationToken)) events.Add(e);

        Assert.Equal(["line", "line", "completed"], events.Select(e => e.Event).ToArray());
        Assert.Equal("1", events[0].Id);
        Assert.Equal("2", parser.LastEventId);
        Assert.Equal(TimeSpan.FromSeconds(1), parser.Retry);
        var line = BuildLogFollower.ParseLine(events[1]);
        Assert.Equal(new LogLine(2, null, "world"), line);
    }

    [Fact]
    public void Data_lines_join_with_newlines_one_leading_space_is_dropped_and_the_default_event_is_message()
    {
        var parser = new SseParser();
        Assert.Null(parser.Feed("data:first"));
        Assert.Null(parser.Feed("data:  second"));
        Assert.Null(parser.Feed("unknown: ignored"));

        var e = parser.Feed("");

        Assert.Equal(new ServerSentEvent(null, "message", "first\n second"), e);
    }

    [Fact]
    public void An_event_without_data_is_not_dispatched_but_its_id_still_counts()
    {
        var parser = new SseParser();
        parser.Feed("id: 41");
        parser.Feed("event: line");

        Assert.Null(parser.Feed(""));
        Assert.Equal("41", parser.LastEventId);
        parser.Feed("data: x");
        Assert.Equal("41", parser.Feed("")!.Id);
    }

    [Fact]
    public async Task An_unfinished_event_at_the_end_of_the_stream_is_dropped()
    {
        var parser = new SseParser();
        var events = new List<ServerSentEvent>();
        await foreach (var e in parser.ReadAsync(new MemoryStream("id: 1\nevent: line\ndata: {\"line\":1}"u8.ToArray()), TestContext.Current.CancellationToken)) events.Add(e);
        Assert.Empty(events);
    }
}
