using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.GrainInterfaces.Projects;

namespace CloudDeck.Grains.Projects;

/// <summary>Environment variables: encrypted before they are written, and never answered in clear to a request.</summary>
public sealed partial class ProjectGrain
{
    public const string Masked = "***";

    public async Task<IReadOnlyList<EnvVarView>> ListEnv(Caller caller)
    {
        await AuthorizeExisting(caller, OrganizationActions.ViewBuilds);
        return [.. Project.Env.OrderBy(v => v.Environment, StringComparer.Ordinal).ThenBy(v => v.Name, StringComparer.Ordinal).Select(EnvView)];
    }

    public async Task<EnvVarView> SetEnv(Caller caller, string environment, string name, string value)
    {
        await AuthorizeExisting(caller, OrganizationActions.Deploy);
        ProjectRules.Environment(environment);
        ProjectRules.EnvName(name);
        ProjectRules.EnvValue(value);
        var existing = Project.Env.FirstOrDefault(v => v.Environment == environment && v.Name == name);
        if (existing is null && Project.Env.Count >= ProjectRules.MaxEnvVars)
        {
            throw new InvalidFieldException("name", $"a project has at most {ProjectRules.MaxEnvVars} environment variables");
        }

        var record = new EnvVarRecord
        {
            Environment = environment, Name = name, Ciphertext = secrets.Encrypt(value, Context(environment, name)), UpdatedAt = clock.GetUtcNow(),
        };
        var before = Project.Env;
        Project.Env = [.. before.Where(v => v != existing), record];
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            Project.Env = before;
            throw;
        }

        // The name only: values never reach the audit log.
        await AuditAsync(caller, "project.env_set", $"{Name}: {environment}/{name}");
        return EnvView(record);
    }

    public async Task RemoveEnv(Caller caller, string environment, string name)
    {
        await AuthorizeExisting(caller, OrganizationActions.Deploy);
        ProjectRules.Environment(environment);
        var existing = Project.Env.FirstOrDefault(v => v.Environment == environment && v.Name == name)
                       ?? throw new NotFoundException($"No variable '{name}' in {environment}.");
        var before = Project.Env;
        Project.Env = [.. before.Where(v => v != existing)];
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            Project.Env = before;
            throw;
        }

        await AuditAsync(caller, "project.env_removed", $"{Name}: {environment}/{name}");
    }

    private static EnvVarView EnvView(EnvVarRecord record) => new(record.Environment, record.Name, Masked, record.UpdatedAt);
}
