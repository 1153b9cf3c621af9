using CloudDeck.Api.Edge;

namespace CloudDeck.Api.Tests.Edge;

/// <summary>The edge's bounded caches: full means the least recently used entry goes, never the whole cache.</summary>
public sealed class LruCacheTests
{
    [Fact]
    public void A_full_cache_lets_go_of_the_least_recently_used_entry_only()
    {
        using var cache = new LruCache<string, int>(3);
        cache.Set("a", 1);
        cache.Set("b", 2);
        cache.Set("c", 3);
        Assert.True(cache.TryGet("a", out _)); // "a" is now the most recently used; "b" the least

        cache.Set("d", 4);

        Assert.Equal(3, cache.Count);
        Assert.False(cache.Contains("b"));
        Assert.True(cache.TryGet("a", out var a) && a == 1);
        Assert.True(cache.TryGet("c", out var c) && c == 3);
        Assert.True(cache.TryGet("d", out var d) && d == 4);
        var figures = cache.Figures();
        Assert.Equal(1, figures.Evictions);
        Assert.Equal(3, figures.Size);
        Assert.Equal(3, figures.Limit);
    }

    [Fact]
    public void A_flood_of_new_keys_keeps_the_cache_full_and_the_entries_still_in_use()
    {
        using var cache = new LruCache<string, int>(100);
        cache.Set("hot", 42);
        for (var i = 0; i < 10_000; i++)
        {
            cache.Set($"cold-{i}", i);
            if (i % 50 == 0) Assert.True(cache.TryGet("hot", out _));
            // Never emptied to make room: once full it stays full.
            if (i >= 99) Assert.Equal(100, cache.Count);
        }

        Assert.True(cache.TryGet("hot", out var hot) && hot == 42);
        Assert.True(cache.Contains("cold-9999"));
        Assert.False(cache.Contains("cold-0"));
        Assert.Equal(10_001 - 100, cache.Figures().Evictions);
    }

    [Fact]
    public void Weights_bound_the_total_and_a_later_weight_gain_evicts_the_least_recently_used()
    {
        using var cache = new LruCache<string, string>(1000);
        cache.Set("x", "x", 400);
        cache.Set("y", "y", 400);
        Assert.Equal(800, cache.Figures().Size);

        // "x" grows past the budget (a compressed form made later): the least recently used entry, "x" itself, goes.
        cache.AddWeight("x", 300);
        Assert.False(cache.Contains("x"));
        Assert.True(cache.Contains("y"));
        Assert.Equal(400, cache.Figures().Size);

        // One entry larger than the whole budget is kept alone rather than refused.
        cache.Set("huge", "huge", 5000);
        Assert.True(cache.Contains("huge"));
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void Hits_and_misses_are_counted_and_removal_by_value_spares_a_newer_entry()
    {
        using var cache = new LruCache<string, string>(10);
        cache.Set("k", "old");
        Assert.True(cache.TryGet("k", out _));
        Assert.False(cache.TryGet("absent", out _));
        cache.Set("k", "new");

        Assert.False(cache.Remove("k", "old"));
        Assert.True(cache.Contains("k"));
        Assert.True(cache.Remove("k", "new"));
        Assert.False(cache.Contains("k"));
        var figures = cache.Figures();
        Assert.Equal(1, figures.Hits);
        Assert.Equal(1, figures.Misses);
    }
}
