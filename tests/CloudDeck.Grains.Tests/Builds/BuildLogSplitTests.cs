using System.Text;
using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.Grains.Diagnostics;

namespace CloudDeck.Grains.Tests.Builds;

/// <summary>Lines over 16 KiB of UTF-8 are split between characters: every piece fits, is valid text, and nothing is lost.</summary>
public sealed class BuildLogSplitTests
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    [Theory]
    [InlineData("a", 16 * 1024 + 1)] // one byte over
    [InlineData("é", 20_000)] // 2-byte characters, odd limit crossings
    [InlineData("€", 20_000)] // 3-byte
    [InlineData("😀", 20_000)] // 4-byte surrogate pairs
    [InlineData("a😀€é", 50_000)] // every width, every alignment against the limit
    public void Long_lines_become_pieces_within_the_limit_that_join_back_to_the_text(string unit, int repeat)
    {
        var text = string.Concat(Enumerable.Repeat(unit, repeat));
        var line = new BuildLogLine(DateTimeOffset.UnixEpoch, BuildLogStreams.Stderr, text);

        var pieces = BuildLogs.Split(line).ToList();

        Assert.True(pieces.Count > 1, "A text over 16 KiB should be split.");
        Assert.All(pieces, piece =>
        {
            var bytes = StrictUtf8.GetBytes(piece.Text); // throws on a lone surrogate
            Assert.InRange(bytes.Length, 1, BuildLogs.MaxLineBytes);
            Assert.Equal(line.Time, piece.Time);
            Assert.Equal(line.Stream, piece.Stream);
        });
        Assert.Equal(text, string.Concat(pieces.Select(p => p.Text)));
        // Greedy: every piece but the last is full up to the width of the next character.
        Assert.All(pieces.SkipLast(1), piece => Assert.True(Encoding.UTF8.GetByteCount(piece.Text) > BuildLogs.MaxLineBytes - 4));
    }

    [Theory]
    [InlineData("")]
    [InlineData("short")]
    public void Lines_within_the_limit_are_left_alone(string text)
    {
        var line = new BuildLogLine(DateTimeOffset.UnixEpoch, BuildLogStreams.Stdout, text);
        Assert.Same(line, Assert.Single(BuildLogs.Split(line)));
        var full = line with { Text = new string('x', BuildLogs.MaxLineBytes) };
        Assert.Same(full, Assert.Single(BuildLogs.Split(full)));
    }

    [Fact]
    public void A_lone_surrogate_counts_as_the_three_bytes_it_is_written_as()
    {
        // U+FFFD replaces it on the wire; the split must still keep every piece within the limit.
        var text = new string('\uD800', 6000);
        var pieces = BuildLogs.Split(new BuildLogLine(DateTimeOffset.UnixEpoch, BuildLogStreams.Stdout, text)).ToList();
        Assert.Equal(2, pieces.Count);
        Assert.All(pieces, piece => Assert.True(Encoding.UTF8.GetByteCount(piece.Text) <= BuildLogs.MaxLineBytes));
        Assert.Equal(text, string.Concat(pieces.Select(p => p.Text)));
    }

    [Theory]
    [InlineData(1, 16)]
    [InlineData(7, 100)]
    [InlineData(50, 40_000)]
    [InlineData(123_456, 1_000)]
    public void Synthetic_lines_have_exactly_the_asked_size(int lineNumber, int lineBytes)
    {
        var text = SyntheticBuildLog.TextOf(lineNumber, lineBytes);
        Assert.Equal(lineBytes, StrictUtf8.GetByteCount(text));
        Assert.StartsWith(lineNumber.ToString("D6", System.Globalization.CultureInfo.InvariantCulture)[..Math.Min(6, lineBytes)], text, StringComparison.Ordinal);
    }
}
