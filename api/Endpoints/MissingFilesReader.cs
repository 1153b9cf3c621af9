using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using CloudDeck.GrainInterfaces.Deployments;
using Microsoft.AspNetCore.Http.Features;

namespace CloudDeck.Api.Endpoints;

/// <summary>
/// Reads <c>POST files/missing</c>'s body (<c>{"files":[{"sha256","size","path"?}]}</c>) as it arrives and checks each
/// hash as soon as its entry is read: no document of the whole body is built, the body and the entries per request are
/// bounded, and reading stops at the first bound crossed. Mistakes are collected as fields (<c>files[3].sha256</c>)
/// like <see cref="Http.JsonBody"/>'s, duplicate keys included.
/// </summary>
public sealed class MissingFilesReader
{
    /// <summary>deck asks 500 hashes a request (~50 KB); a whole manifest with paths fits too, up to <see cref="MaxFiles"/>.</summary>
    public const int MaxBodyBytes = 2 * 1024 * 1024;

    public const int MaxFiles = 5_000;

    /// <summary>Reading stops after this many mistakes: enough to fix a body, bounded for a hostile one.</summary>
    private const int MaxErrors = 100;

    private static readonly string[] RootFields = ["files"];
    private static readonly string[] EntryFields = ["path", "sha256", "size"];

    private readonly Func<string, bool> _isMissing;
    private readonly long _maxFileBytes;
    private readonly Dictionary<string, string[]> _errors = new(StringComparer.Ordinal);
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private readonly List<string> _missing = [];
    private readonly List<ManifestFile> _manifest = [];
    private readonly HashSet<string> _rootNames = new(StringComparer.Ordinal);
    private Place _place = Place.Start;
    private string? _pending;
    private int _skipUntilDepth = -1;
    private int _count;
    private bool _filesSeen;
    private Entry? _entry;

    private MissingFilesReader(Func<string, bool> isMissing, long maxFileBytes) => (_isMissing, _maxFileBytes) = (isMissing, maxFileBytes);

    private enum Place { Start, Root, RootValue, Files, Entry, EntryValue, Done }

    private sealed class Entry
    {
        public HashSet<string> Names { get; } = new(StringComparer.Ordinal);
        public string Sha256 { get; set; } = "";
        public long Size { get; set; } = -1;
        public string? Path { get; set; }
        public bool HasPath { get; set; }
    }

    /// <returns>The missing hashes in the order given (each once), or the mistakes (field → problem).</returns>
    public static async Task<(IReadOnlyList<string>? Missing, IDictionary<string, string[]>? Errors)> ReadAsync(
        HttpRequest request, Func<string, bool> isMissing, long maxFileBytes)
    {
        var reader = new MissingFilesReader(isMissing, maxFileBytes);
        var tooLarge = $"must be at most {MaxBodyBytes} bytes";
        if (request.ContentLength > MaxBodyBytes) return (null, reader.Fail("body", tooLarge).Errors());
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = MaxBodyBytes;
        var body = request.BodyReader;
        var state = new JsonReaderState(new JsonReaderOptions { MaxDepth = 16 });
        long consumed = 0;
        while (true)
        {
            ReadResult result;
            try
            {
                result = await body.ReadAsync(request.HttpContext.RequestAborted);
            }
            catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                return (null, reader.Fail("body", tooLarge).Errors());
            }

            var buffer = result.Buffer;
            if (consumed + buffer.Length > MaxBodyBytes)
            {
                body.AdvanceTo(buffer.End);
                return (null, reader.Fail("body", tooLarge).Errors());
            }

            long used;
            try
            {
                (used, state) = reader.Feed(buffer, result.IsCompleted, state);
            }
            catch (JsonException)
            {
                body.AdvanceTo(buffer.End);
                return (null, reader.Fail("body", "must be a JSON object (it is missing or not valid JSON)").Errors());
            }

            consumed += used;
            body.AdvanceTo(buffer.GetPosition(used), buffer.End);
            if (reader._place == Place.Done || reader._errors.Count >= MaxErrors || result.IsCompleted) break;
        }

        reader.Finish();
        return reader._errors.Count > 0 ? (null, reader._errors) : (reader._missing, null);
    }

    private (long Consumed, JsonReaderState State) Feed(ReadOnlySequence<byte> buffer, bool isFinalBlock, JsonReaderState state)
    {
        var json = new Utf8JsonReader(buffer, isFinalBlock, state);
        while (_place != Place.Done && _errors.Count < MaxErrors && json.Read()) Handle(ref json);
        return (json.BytesConsumed, json.CurrentState);
    }

    private void Handle(ref Utf8JsonReader json)
    {
        if (_skipUntilDepth >= 0)
        {
            if (json.TokenType is JsonTokenType.EndObject or JsonTokenType.EndArray && json.CurrentDepth == _skipUntilDepth) _skipUntilDepth = -1;
            return;
        }

        var at = $"files[{_count}]";
        switch (_place)
        {
            case Place.Start when json.TokenType == JsonTokenType.StartObject:
                _place = Place.Root;
                break;
            case Place.Start:
                Fail("body", "must be a JSON object");
                _place = Place.Done;
                break;
            case Place.Root when json.TokenType == JsonTokenType.PropertyName:
                _pending = Text(ref json, "body");
                if (_pending is not null && !_rootNames.Add(_pending)) Fail(_pending, "appears more than once");
                if (_pending is not null && _pending != "files") Fail(_pending, Http.ApiJson.UnknownMember(_pending, RootFields));
                _place = Place.RootValue;
                break;
            case Place.Root:
                _place = Place.Done;
                break;
            case Place.RootValue when _pending == "files" && json.TokenType == JsonTokenType.StartArray:
                _filesSeen = true;
                _place = Place.Files;
                break;
            case Place.RootValue:
                if (_pending == "files" && json.TokenType != JsonTokenType.Null) Fail("files", "must be an array");
                Skip(ref json);
                _place = Place.Root;
                break;
            case Place.Files when json.TokenType == JsonTokenType.EndArray:
                _place = Place.Root;
                break;
            case Place.Files when _count == MaxFiles:
                Fail("files", $"must have at most {MaxFiles} items a request (ask in several requests)");
                _place = Place.Done;
                break;
            case Place.Files when json.TokenType == JsonTokenType.StartObject:
                _entry = new Entry();
                _place = Place.Entry;
                break;
            case Place.Files:
                Fail(at, "must be an object with sha256 and size (and path)");
                Skip(ref json);
                _count++;
                break;
            case Place.Entry when json.TokenType == JsonTokenType.PropertyName:
                _pending = Text(ref json, at);
                if (_pending is not null && !_entry!.Names.Add(_pending)) Fail($"{at}.{_pending}", "appears more than once");
                if (_pending is not null && !EntryFields.Contains(_pending)) Fail($"{at}.{_pending}", Http.ApiJson.UnknownMember(_pending, EntryFields));
                _place = Place.EntryValue;
                break;
            case Place.Entry:
                FinishEntry(_entry!, at);
                _count++;
                _place = Place.Files;
                break;
            case Place.EntryValue:
                ReadEntryValue(ref json, _entry!, at);
                Skip(ref json);
                _place = Place.Entry;
                break;
        }
    }

    private void ReadEntryValue(ref Utf8JsonReader json, Entry entry, string at)
    {
        switch (_pending)
        {
            case "sha256" when json.TokenType == JsonTokenType.String:
                entry.Sha256 = Text(ref json, $"{at}.sha256") ?? "";
                break;
            case "size" when json.TokenType == JsonTokenType.Number && json.TryGetInt64(out var size):
                entry.Size = size;
                break;
            case "path":
                entry.HasPath = true;
                entry.Path = json.TokenType == JsonTokenType.String ? Text(ref json, $"{at}.path") : "";
                break;
        }
    }

    private void FinishEntry(Entry entry, string at)
    {
        if (!ManifestValidation.IsSha256(entry.Sha256)) Fail($"{at}.sha256", ManifestValidation.HashRule);
        else if (_seen.Add(entry.Sha256) && _isMissing(entry.Sha256)) _missing.Add(entry.Sha256);
        if (entry.Size < 0) Fail($"{at}.size", "must be a whole number of bytes, 0 or more");
        else if (entry.Size > _maxFileBytes) Fail($"{at}.size", $"must be at most {_maxFileBytes} bytes (CloudDeck:Artifacts:MaxFileBytes)");
        // A client may send its whole manifest (with paths): its paths are then checked now, before any upload.
        if (entry.HasPath) _manifest.Add(new ManifestFile(entry.Path ?? "", entry.Sha256, entry.Size));
    }

    private void Finish()
    {
        if (!_filesSeen) Fail("files", "is required");
        else if (_count == 0) Fail("files", "must have at least one item");
        else if (_manifest.Count > 0 && _manifest.Count != _count) Fail("files", "must give a path for every file or for none");
        else if (_manifest.Count > 0)
        {
            foreach (var (field, problem) in ManifestValidation.Problems(_manifest).Where(p => p.Field.EndsWith(".path", StringComparison.Ordinal) || p.Field == "files"))
            {
                Fail(field, problem);
            }
        }
    }

    /// <summary>A string token as text, or null with a mistake when it is not valid text (invalid UTF-8, a lone surrogate).</summary>
    private string? Text(ref Utf8JsonReader json, string field)
    {
        try
        {
            return json.GetString();
        }
        catch (InvalidOperationException)
        {
            Fail(field, Http.JsonText.InvalidText);
            return null;
        }
    }

    private void Skip(ref Utf8JsonReader json)
    {
        if (json.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray) _skipUntilDepth = json.CurrentDepth;
    }

    private MissingFilesReader Fail(string field, string problem)
    {
        _errors.TryAdd(field, [problem]);
        return this;
    }

    private Dictionary<string, string[]> Errors() => _errors;
}
