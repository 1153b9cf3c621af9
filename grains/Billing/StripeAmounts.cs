namespace CloudDeck.Grains.Billing;

/// <summary>
/// How Stripe prices a period's metered usage, repeated here so that the upcoming invoice matches Stripe's to the cent:
/// the sum is divided by the price's package size (<c>transform_quantity[divide_by]</c>, rounded up or down), multiplied
/// by the unit amount in cents (<c>unit_amount_decimal</c>), and the line rounded to a whole cent, halves away from zero.
/// </summary>
public static class StripeAmounts
{
    public static long Quantity(long usage, MeteredPrice price)
    {
        if (usage <= 0) return 0;
        var whole = usage / price.PackageSize;
        return price.RoundUp && usage % price.PackageSize != 0 ? whole + 1 : whole;
    }

    /// <summary>The line's amount in cents.</summary>
    public static long LineAmount(long quantity, decimal unitAmount) =>
        (long)decimal.Round(quantity * UnitAmountCents(unitAmount), 0, MidpointRounding.AwayFromZero);

    /// <summary><paramref name="unitAmount"/> (in the currency) as Stripe's <c>unit_amount_decimal</c> (in cents).</summary>
    public static decimal UnitAmountCents(decimal unitAmount) => unitAmount * 100m;
}
