using System.Text.Json;
using System.Text.Json.Serialization;

namespace CloudDeck.Cli.Config;

/// <summary>
/// <c>.clouddeck/project.json</c>: which project a directory deploys to. Found in the directory or its nearest
/// ancestor that has one, like git finds <c>.git</c>, so commands work from any subfolder of a linked project.
/// </summary>
public sealed record ProjectLink(string Org, string Project)
{
    public const string DirectoryName = ".clouddeck";
    public const string FileName = "project.json";

    public static string PathIn(string directory) => Path.Combine(directory, DirectoryName, FileName);

    /// <returns>The link and the directory holding it, or null when neither the directory nor an ancestor is linked.</returns>
    public static (ProjectLink Link, string Root)? Find(string directory)
    {
        for (var current = new DirectoryInfo(Path.GetFullPath(directory)); current is not null; current = current.Parent)
        {
            var path = PathIn(current.FullName);
            if (!File.Exists(path)) continue;
            ProjectLink? link;
            try
            {
                link = JsonSerializer.Deserialize(File.ReadAllText(path), ProjectLinkJson.Default.ProjectLink);
            }
            catch (JsonException e)
            {
                throw new InvalidOperationException($"{path} is not valid JSON: {e.Message}", e);
            }

            if (link is null || string.IsNullOrWhiteSpace(link.Org) || string.IsNullOrWhiteSpace(link.Project))
            {
                throw new InvalidOperationException($"{path} must name an org and a project; run deck link again.");
            }

            return (link, current.FullName);
        }

        return null;
    }

    public void Write(string directory)
    {
        var folder = Path.Combine(directory, DirectoryName);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, FileName), JsonSerializer.Serialize(this, ProjectLinkJson.Default.ProjectLink) + "\n");
        // The folder is local state (like .vercel): keep it out of the user's commits without touching their .gitignore.
        var ignore = Path.Combine(folder, ".gitignore");
        if (!File.Exists(ignore)) File.WriteAllText(ignore, "*\n");
    }
}

/// <summary>project.json's shape, generated at compile time (deck is also compiled ahead of time, without reflection).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true)]
[JsonSerializable(typeof(ProjectLink))]
internal sealed partial class ProjectLinkJson : JsonSerializerContext;
