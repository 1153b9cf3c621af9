using System.Net;
using CloudDeck.GrainInterfaces.Domains;
using DnsClient;
using DnsClient.Protocol;

namespace CloudDeck.Grains.Domains;

/// <summary>
/// Whether a domain's owner proved control of it, asked of <see cref="DomainOptions.DnsServers"/> (no cache, so a record
/// just set is seen at once): a TXT record <c>_clouddeck-challenge.&lt;domain&gt;</c> holding the domain's token, or the
/// domain already pointing at the edge (a CNAME to <see cref="DomainOptions.CnameTarget"/>, or A/AAAA records all among
/// <see cref="DomainOptions.EdgeAddresses"/>).
/// </summary>
public sealed class DnsVerifier(DomainOptions options)
{
    private readonly LookupClient _dns = new(Options(options));
    private readonly HashSet<IPAddress> _edgeAddresses = [.. options.EdgeAddresses.Select(IPAddress.Parse)];

    private static LookupClientOptions Options(DomainOptions options)
    {
        var servers = options.DnsEndpoints();
        var lookup = servers.Count > 0 ? new LookupClientOptions([.. servers]) : new LookupClientOptions();
        lookup.UseCache = false;
        lookup.Timeout = TimeSpan.FromSeconds(3);
        lookup.Retries = 1;
        lookup.ThrowDnsErrors = false;
        return lookup;
    }

    /// <returns>Null when the domain is verified; otherwise what the DNS showed instead, for the user to act on.</returns>
    public async Task<string?> ProblemAsync(string domain, string token, CancellationToken cancellation)
    {
        var challenge = DomainNames.ChallengeName(domain);
        try
        {
            var txt = await _dns.QueryAsync(challenge, QueryType.TXT, QueryClass.IN, cancellation);
            var values = txt.Answers.TxtRecords().Select(r => string.Concat(r.Text)).ToList();
            if (values.Contains(token, StringComparer.Ordinal)) return null;

            if (options.CnameTarget is { } target)
            {
                var cname = await _dns.QueryAsync(domain, QueryType.CNAME, QueryClass.IN, cancellation);
                if (cname.Answers.CnameRecords().Any(r => r.CanonicalName.Value.TrimEnd('.').Equals(target, StringComparison.OrdinalIgnoreCase))) return null;
            }

            if (_edgeAddresses.Count > 0)
            {
                var addresses = new List<IPAddress>();
                foreach (var type in new[] { QueryType.A, QueryType.AAAA })
                {
                    var answer = await _dns.QueryAsync(domain, type, QueryClass.IN, cancellation);
                    addresses.AddRange(answer.Answers.OfType<AddressRecord>().Select(r => r.Address));
                }

                if (addresses.Count > 0 && addresses.All(_edgeAddresses.Contains)) return null;
            }

            var found = values.Count == 0 ? (txt.HasError ? $"the lookup answered {txt.ErrorMessage}" : "none was found") : $"found {string.Join(", ", values.Select(v => $"\"{v}\""))}";
            return $"No TXT record {challenge} with the value \"{token}\" ({found}){PointingHint()}.";
        }
        catch (DnsResponseException e)
        {
            return $"The DNS lookup of {challenge} failed: {e.Message}";
        }
    }

    private string PointingHint() =>
        options.CnameTarget is { } target ? $", and {(_edgeAddresses.Count > 0 ? "neither a CNAME to " + target + " nor A records at the edge" : "no CNAME to " + target)}"
        : _edgeAddresses.Count > 0 ? ", and no A/AAAA records pointing only at the edge"
        : "";
}
