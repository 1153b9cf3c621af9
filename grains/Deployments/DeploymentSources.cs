using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.Grains.Artifacts;
using CloudDeck.Grains.Projects;

namespace CloudDeck.Grains.Deployments;

/// <summary>What a deployment may be made from, checked before anything is counted or written.</summary>
public static class DeploymentSources
{
    /// <summary>
    /// The source as the build gets it: an upload whose files this organization has all stored, with true sizes; or a git
    /// ref (default: the production branch), with the commit when the ref is one.
    /// </summary>
    /// <param name="artifacts">Null on a host without a store: uploads are refused there.</param>
    public static (DeploymentSource Source, string? Commit) Resolve(ProjectView project, DeploymentSource source, IArtifactStore? artifacts)
    {
        if (source.Branch is { } branch) ProjectRules.GitRef(branch, "branch");
        if (source.Files is { } files)
        {
            if (source.GitRef is not null) throw new InvalidFieldException("files", "give git_ref or files, not both");
            if (files.Count == 0) throw new InvalidFieldException("files", "must list at least one file");
            ManifestValidation.Validate(files);
            var store = artifacts ?? throw new ConflictException("This server has no artifact store, so it cannot deploy uploaded files.");
            // Only contents this organization uploaded (or built): a hash another tenant stored is not a file it may serve.
            var missing = store.MissingFor(project.Organization, files.Select(f => f.Sha256));
            if (missing.Count > 0)
            {
                throw new InvalidFieldException("files",
                    $"{missing.Count} file(s) are not uploaded yet (upload them first, PUT /api/v1/orgs/{{slug}}/files/{{sha256}}): {string.Join(", ", missing.Take(5))}{(missing.Count > 5 ? ", …" : "")}");
            }

            // The manifest's sizes are what the edge announces (Content-Length) and what usage counts: they must be true.
            for (var i = 0; i < files.Count; i++)
            {
                var stored = new FileInfo(store.PathOf(files[i].Sha256)).Length;
                if (stored != files[i].Size)
                {
                    throw new InvalidFieldException($"files[{i}].size", $"is {files[i].Size}, but the uploaded content with that sha256 has {stored} bytes");
                }
            }

            return (new DeploymentSource(Files: files, Branch: source.Branch), null);
        }

        if (project.GitUrl is null && project.LocalPath is null)
        {
            throw new InvalidFieldException("git_ref", "the project has no git source (set git_url or local_path), so deploy files instead");
        }

        var gitRef = source.GitRef ?? project.ProductionBranch;
        ProjectRules.GitRef(gitRef, "git_ref");
        var isCommit = gitRef.Length is 40 or 64 && gitRef.AsSpan().IndexOfAnyExcept("0123456789abcdef") < 0;
        return (new DeploymentSource(GitRef: gitRef, Branch: source.Branch ?? (isCommit ? null : gitRef)), isCommit ? gitRef : null);
    }
}
