using System.Globalization;

namespace CloudDeck.Deploy.Bench;

/// <summary>Paired rounds of one case: the platform's time and the baseline's, measured back to back.</summary>
internal sealed class CaseResult(string name)
{
    private readonly List<(double Platform, double Baseline)> _rounds = [];

    public string Name { get; } = name;

    /// <summary>The deck run of the round whose platform time is the median: its phase stamps are the profile.</summary>
    public List<(double Platform, TimedRun Deck)> Runs { get; } = [];

    public void Add(double platform, double baseline, TimedRun deck)
    {
        _rounds.Add((platform, baseline));
        Runs.Add((platform, deck));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {Name}, round {_rounds.Count}: platform {platform,8:0} ms   baseline {baseline,8:0} ms   overhead {platform - baseline,8:0} ms"));
    }

    public double Platform => Median(_rounds.Select(r => r.Platform));

    public double Baseline => Median(_rounds.Select(r => r.Baseline));

    /// <summary>The median of each round's difference: drift between rounds cancels within a pair.</summary>
    public double Overhead => Median(_rounds.Select(r => r.Platform - r.Baseline));

    public (double Min, double Max) OverheadRange => (_rounds.Min(r => r.Platform - r.Baseline), _rounds.Max(r => r.Platform - r.Baseline));

    public int Count => _rounds.Count;

    public TimedRun MedianRun => Runs.OrderBy(r => r.Platform).ElementAt(Runs.Count / 2).Deck;

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0) return double.NaN;
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
