using System.Security.Cryptography;
using CloudDeck.GrainInterfaces.Domains;
using CloudDeck.Grains.Projects;

namespace CloudDeck.Grains.Domains;

public sealed class AcmeAccountState
{
    /// <summary>The account key's PEM sealed with <see cref="SecretsKey"/>.</summary>
    public string? SealedKey { get; set; }

    public string? AccountUrl { get; set; }
}

/// <inheritdoc cref="IAcmeAccountGrain"/>
public sealed class AcmeAccountGrain([PersistentState("acme-account")] IPersistentState<AcmeAccountState> state, SecretsKey secrets)
    : Grain, IAcmeAccountGrain
{
    private string Context => "acme-account/" + this.GetPrimaryKeyString();

    public async Task<AcmeAccountKey> GetOrCreate()
    {
        if (state.State.SealedKey is null)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            state.State.SealedKey = secrets.Encrypt(key.ExportPkcs8PrivateKeyPem(), Context);
            state.State.AccountUrl = null;
            await state.WriteStateAsync();
        }

        return new AcmeAccountKey(secrets.Decrypt(state.State.SealedKey, Context), state.State.AccountUrl);
    }

    public async Task SetAccountUrl(string? accountUrl)
    {
        state.State.AccountUrl = accountUrl;
        await state.WriteStateAsync();
    }
}
