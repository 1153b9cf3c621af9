using System.Security.Cryptography;
using System.Text;
using CloudDeck.Grains.Accounts;

namespace CloudDeck.Grains.Tests;

/// <summary>TOTP against RFC 6238 Appendix B, and the ±1 step window with replay refusal.</summary>
public sealed class TotpTests
{
    private static readonly byte[] Sha1Seed = Encoding.ASCII.GetBytes("12345678901234567890");
    private static readonly byte[] Sha256Seed = Encoding.ASCII.GetBytes("12345678901234567890123456789012");
    private static readonly byte[] Sha512Seed = Encoding.ASCII.GetBytes("1234567890123456789012345678901234567890123456789012345678901234");

    [Theory]
    [InlineData(59L, "94287082", "46119246", "90693936")]
    [InlineData(1111111109L, "07081804", "68084774", "25091201")]
    [InlineData(1111111111L, "14050471", "67062674", "99943326")]
    [InlineData(1234567890L, "89005924", "91819424", "93441116")]
    [InlineData(2000000000L, "69279037", "90698825", "38618901")]
    [InlineData(20000000000L, "65353130", "77737706", "47863826")]
    public void Matches_the_RFC_6238_appendix_B_vectors(long unixTime, string sha1, string sha256, string sha512)
    {
        var step = Totp.TimeStep(DateTimeOffset.FromUnixTimeSeconds(unixTime));
        Assert.Equal(sha1, Totp.Compute(Sha1Seed, step, digits: 8, HashAlgorithmName.SHA1));
        Assert.Equal(sha256, Totp.Compute(Sha256Seed, step, digits: 8, HashAlgorithmName.SHA256));
        Assert.Equal(sha512, Totp.Compute(Sha512Seed, step, digits: 8, HashAlgorithmName.SHA512));
    }

    [Fact]
    public void Accepts_one_step_either_side_and_refuses_two()
    {
        var now = DateTimeOffset.FromUnixTimeSeconds(1111111111);
        var step = Totp.TimeStep(now);
        string Code(long s) => Totp.Compute(Sha1Seed, s);

        Assert.Equal(step, Totp.Verify(Sha1Seed, Code(step), now, lastUsedStep: 0));
        Assert.Equal(step - 1, Totp.Verify(Sha1Seed, Code(step - 1), now, lastUsedStep: 0));
        Assert.Equal(step + 1, Totp.Verify(Sha1Seed, Code(step + 1), now, lastUsedStep: 0));
        Assert.Null(Totp.Verify(Sha1Seed, Code(step - 2), now, lastUsedStep: 0));
        Assert.Null(Totp.Verify(Sha1Seed, Code(step + 2), now, lastUsedStep: 0));
    }

    [Fact]
    public void A_code_whose_step_was_used_is_refused()
    {
        var now = DateTimeOffset.FromUnixTimeSeconds(1234567890);
        var step = Totp.TimeStep(now);
        var code = Totp.Compute(Sha1Seed, step);
        Assert.Null(Totp.Verify(Sha1Seed, code, now, lastUsedStep: step));
        Assert.Null(Totp.Verify(Sha1Seed, "12345", now, lastUsedStep: 0));
        Assert.Null(Totp.Verify(Sha1Seed, "abcdef", now, lastUsedStep: 0));
    }

    [Fact]
    public void Base32_round_trips_and_matches_RFC_4648()
    {
        Assert.Equal("MZXW6YTBOI", Totp.Base32Encode(Encoding.ASCII.GetBytes("foobar")));
        var bytes = RandomNumberGenerator.GetBytes(20);
        Assert.Equal(bytes, Totp.Base32Decode(Totp.Base32Encode(bytes)));
    }
}
