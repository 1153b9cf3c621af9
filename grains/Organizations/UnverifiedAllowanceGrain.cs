using System.Globalization;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Organizations;
using Microsoft.Extensions.Configuration;

namespace CloudDeck.Grains.Organizations;

/// <summary>
/// Settings under <c>CloudDeck:Accounts</c>: what an account may upload and deploy before its email is verified. A
/// sign-up costs nothing, so without this an unverified address could store and serve as much as the plan allows.
/// </summary>
public sealed class UnverifiedAccountOptions
{
    public const string Section = "CloudDeck:Accounts";

    /// <summary>New bytes (MB, 10^6 bytes) an unverified account may upload over its whole life, all its organizations together; 0: none.</summary>
    public long UnverifiedStorageAllowanceMb { get; set; } = 10;

    /// <summary>Deployments an unverified account may create over its whole life; 0: none.</summary>
    public int UnverifiedDeployments { get; set; } = 5;

    public long MaxBytes => UnverifiedStorageAllowanceMb * 1_000_000;

    /// <exception cref="InvalidOperationException">A setting is wrong; the message names it.</exception>
    public static UnverifiedAccountOptions Read(IConfiguration configuration)
    {
        var options = new UnverifiedAccountOptions();
        var section = configuration.GetSection(Section);
        options.UnverifiedStorageAllowanceMb = Number(section, nameof(UnverifiedStorageAllowanceMb), options.UnverifiedStorageAllowanceMb, 1_000_000_000);
        options.UnverifiedDeployments = (int)Number(section, nameof(UnverifiedDeployments), options.UnverifiedDeployments, 1_000_000);
        return options;
    }

    private static long Number(IConfigurationSection section, string name, long fallback, long maximum)
    {
        if (section[name] is not { } text) return fallback;
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value > maximum)
        {
            throw new InvalidOperationException($"{Section}:{name} must be a whole number from 0 to {maximum}, for example 10 (was '{text}').");
        }

        return value;
    }
}

/// <summary>An unverified account's allowance, counted for its whole life (see <see cref="IUnverifiedAllowanceGrain"/>).</summary>
public sealed class UnverifiedAllowanceGrain(
    [PersistentState("unverified-allowance")] IPersistentState<UnverifiedAllowanceGrain.AllowanceState> state,
    UnverifiedAccountOptions options) : Grain, IUnverifiedAllowanceGrain
{
    public async Task Use(long bytes, int deployments)
    {
        if (bytes < 0 || deployments < 0) throw new ArgumentOutOfRangeException(nameof(bytes), "Amounts are never negative.");
        var allowance = state.State;
        if (bytes > 0 && allowance.Bytes + bytes > options.MaxBytes)
        {
            throw new ForbiddenException(string.Create(CultureInfo.InvariantCulture,
                $"{Caller.VerifyEmailFirstThenRefresh} Until then an account may upload {options.UnverifiedStorageAllowanceMb} MB " +
                $"(CloudDeck:Accounts:UnverifiedStorageAllowanceMb); it has uploaded {allowance.Bytes} bytes and this needs {bytes} more."));
        }

        if (deployments > 0 && allowance.Deployments + deployments > options.UnverifiedDeployments)
        {
            throw new ForbiddenException(string.Create(CultureInfo.InvariantCulture,
                $"{Caller.VerifyEmailFirstThenRefresh} Until then an account may create {options.UnverifiedDeployments} deployments " +
                $"(CloudDeck:Accounts:UnverifiedDeployments); it has created {allowance.Deployments}."));
        }

        if (bytes == 0 && deployments == 0) return;
        allowance.Bytes += bytes;
        allowance.Deployments += deployments;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            allowance.Bytes -= bytes;
            allowance.Deployments -= deployments;
            throw;
        }
    }

    public async Task GiveBack(long bytes, int deployments)
    {
        var allowance = state.State;
        var before = (allowance.Bytes, allowance.Deployments);
        allowance.Bytes = Math.Max(0, allowance.Bytes - Math.Max(0, bytes));
        allowance.Deployments = Math.Max(0, allowance.Deployments - Math.Max(0, deployments));
        if ((allowance.Bytes, allowance.Deployments) != before) await state.WriteStateAsync();
    }

    public Task<UnverifiedAllowanceView> Get() => Task.FromResult(
        new UnverifiedAllowanceView(state.State.Bytes, options.MaxBytes, state.State.Deployments, options.UnverifiedDeployments));

    public sealed class AllowanceState
    {
        public long Bytes { get; set; }

        public int Deployments { get; set; }
    }
}
