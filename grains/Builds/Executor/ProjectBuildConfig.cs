using System.Text.Json;

namespace CloudDeck.Grains.Builds.Executor;

/// <summary>
/// The build settings a project keeps in its own <c>clouddeck.json</c> (beside its routing rules, in Vercel's
/// spelling): <c>framework</c>, <c>installCommand</c>, <c>buildCommand</c>, <c>outputDirectory</c>,
/// <c>startCommand</c>, <c>healthCheckPath</c>. They travel with the code, so they win over the project's settings,
/// which win over detection.
/// </summary>
public static class ProjectBuildConfig
{
    public const string FileName = "clouddeck.json";

    /// <summary>The project's settings with what <c>clouddeck.json</c> sets on top, and which fields the file set.</summary>
    /// <exception cref="BuildStepFailedException">The file is not valid JSON or a field has the wrong type; the message names it.</exception>
    public static (BuildOverrides Overrides, IReadOnlyList<string> FromFile) Merge(string root, BuildOverrides project)
    {
        var path = Path.Combine(root, FileName);
        if (!File.Exists(path)) return (project, []);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new BuildStepFailedException($"{FileName} is not valid JSON: {e.Message}");
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object) throw new BuildStepFailedException($"{FileName} must be a JSON object.");
            var set = new List<string>();
            string? Field(string name, string? current)
            {
                if (!document.RootElement.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return current;
                if (value.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(value.GetString()))
                {
                    throw new BuildStepFailedException($"{FileName}: {name} must be a non-empty string.");
                }

                set.Add(name);
                return value.GetString();
            }

            var merged = new BuildOverrides(
                Field("framework", project.Framework), Field("installCommand", project.InstallCommand), Field("buildCommand", project.BuildCommand),
                Field("outputDirectory", project.OutputDirectory), Field("startCommand", project.StartCommand), Field("healthCheckPath", project.HealthCheckPath));
            if (set.Contains("framework") && !Frameworks.IsValid(merged.Framework))
            {
                throw new BuildStepFailedException($"{FileName}: framework must be one of {string.Join(", ", Frameworks.All)} (was '{merged.Framework}').");
            }

            if (set.Contains("healthCheckPath") && !merged.HealthCheckPath!.StartsWith('/'))
            {
                throw new BuildStepFailedException($"{FileName}: healthCheckPath must start with '/' (was '{merged.HealthCheckPath}').");
            }

            return (merged, set);
        }
    }
}
