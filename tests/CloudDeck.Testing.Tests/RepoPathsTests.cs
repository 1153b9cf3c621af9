namespace CloudDeck.Testing.Tests;

public sealed class RepoPathsTests
{
    [Fact]
    public void Finds_the_nearest_directory_holding_the_solution()
    {
        var root = Directory.CreateTempSubdirectory("clouddeck-repo-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(root, "Actors.sln"), "");
            var nested = Directory.CreateDirectory(Path.Combine(root, "api", "bin", "Release", "net10.0")).FullName;

            Assert.Equal(root, RepoPaths.FindRoot(nested));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void Build_configuration_is_read_from_the_test_binaries_path()
    {
        var sep = Path.DirectorySeparatorChar;

        Assert.Contains($"{sep}bin{sep}{RepoPaths.BuildConfiguration}{sep}{RepoPaths.TargetFramework}", AppContext.BaseDirectory, StringComparison.Ordinal);
    }

    [Fact]
    public void Project_output_points_into_the_same_configuration()
    {
        Need.Component(Requirement.Check(RepoPaths.FindRoot(AppContext.BaseDirectory) is not null, "Actors.sln at the repository root"));

        var path = RepoPaths.ProjectOutput("api", "CloudDeck.Api");

        Assert.Equal(Path.Combine(RepoPaths.Root, "api", "bin", RepoPaths.BuildConfiguration, RepoPaths.TargetFramework, "CloudDeck.Api.dll"), path);
    }

    [Fact]
    public void Requirement_check_is_null_only_when_present()
    {
        Assert.Null(Requirement.Check(present: true, "git"));
        Assert.Contains("Missing git. Install it: apt-get install git.", Requirement.Check(present: false, "git", "apt-get install git"), StringComparison.Ordinal);
    }
}
