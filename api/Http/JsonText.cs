namespace CloudDeck.Api.Http;

/// <summary>What a JSON string that is not text (invalid UTF-8, a lone UTF-16 surrogate) is told, wherever it is read.</summary>
public static class JsonText
{
    public const string InvalidText = "must be valid text (no invalid UTF-8 and no lone surrogate such as \\ud800)";
}
