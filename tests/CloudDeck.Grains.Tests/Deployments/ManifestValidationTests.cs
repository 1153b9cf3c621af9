using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Deployments;

namespace CloudDeck.Grains.Tests.Deployments;

public sealed class ManifestValidationTests
{
    private const string Hash = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    [Theory]
    [InlineData("../etc/passwd", "'..'")]
    [InlineData("a/../../b", "'..'")]
    [InlineData("./a", "'..'")]
    [InlineData("/etc/passwd", "relative")]
    [InlineData("C:/x", "relative")]
    [InlineData("a\\b", "'/'")]
    [InlineData("a//b", "empty segments")]
    [InlineData("a/", "empty segments")]
    [InlineData("", "empty")]
    [InlineData("a\nb", "control")]
    public void Paths_that_escape_or_are_ambiguous_are_refused_naming_the_field(string path, string problem)
    {
        var error = Assert.Throws<InvalidFieldException>(() => ManifestValidation.Validate([new ManifestFile("ok.html", Hash, 1), new ManifestFile(path, Hash, 1)]));
        Assert.Equal("files[1].path", error.Field);
        Assert.Contains(problem, error.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_hashes_negative_sizes_and_duplicates_are_each_named()
    {
        var problems = ManifestValidation.Problems([
            new ManifestFile("index.html", Hash.ToUpperInvariant(), 1),
            new ManifestFile("a.js", "abc", -1),
            new ManifestFile("index.html", Hash, 1),
            new ManifestFile("docs", Hash, 1),
            new ManifestFile("docs/a.html", Hash, 1),
        ]).Select(p => p.Field).ToList();

        Assert.Equal(["files[0].sha256", "files[1].sha256", "files[1].size", "files[2].path", "files"], problems);
    }

    [Fact]
    public void A_good_manifest_passes()
    {
        ManifestValidation.Validate([new ManifestFile("index.html", Hash, 0), new ManifestFile("assets/index-3f2a9c1b.js", Hash, 10), new ManifestFile(".well-known/x", Hash, 1)]);
    }
}
