using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Actors.Runtime.Generator;

/// <summary>
/// Writes, at build time, a proxy class for every grain interface and one request class per method.
/// A call through a proxy allocates the request (typed fields, no object[] and no reflection) and hands it
/// to the runtime; the activation invokes the method through a direct interface call.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class GrainProxyGenerator : IIncrementalGenerator
{
    private const string AddressableName = "Actors.Runtime.IAddressable";

    private static readonly DiagnosticDescriptor UnsupportedMethod = new(
        "ACT001", "Unsupported grain method",
        "Grain method {0}.{1} {2}",
        "Actors", DiagnosticSeverity.Error, isEnabledByDefault: true);

    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var interfaces = context.SyntaxProvider.CreateSyntaxProvider(
                static (node, _) => node is InterfaceDeclarationSyntax,
                static (syntax, _) => syntax.SemanticModel.GetDeclaredSymbol(syntax.Node) as INamedTypeSymbol)
            .Where(static symbol => symbol is not null && IsGrainInterface(symbol))
            .Select(static (symbol, _) => ProxyEmitter.Emit(symbol!))
            .WithComparer(EqualityComparer<ProxySource>.Default);

        context.RegisterSourceOutput(interfaces.Collect(), static (output, proxies) =>
        {
            foreach (var proxy in proxies.Distinct())
            {
                foreach (var error in proxy.Errors)
                {
                    output.ReportDiagnostic(Diagnostic.Create(UnsupportedMethod, Location.None, error.Interface, error.Method, error.Problem));
                }

                if (proxy.Errors.Length == 0)
                {
                    output.AddSource(proxy.HintName, proxy.Source);
                }
            }
        });
    }

    // The runtime's own marker interfaces are not grain interfaces; its system grains' interfaces (streams) are.
    private static readonly HashSet<string> RuntimeMarkers =
    [
        AddressableName, "Actors.Runtime.IGrain", "Actors.Runtime.IGrainWithStringKey", "Actors.Runtime.IGrainWithGuidKey",
        "Actors.Runtime.IRemindable",
    ];

    internal static bool IsGrainInterface(INamedTypeSymbol symbol) =>
        symbol.TypeKind == TypeKind.Interface
        && symbol.AllInterfaces.Any(i => i.ToDisplayString() == AddressableName)
        && !RuntimeMarkers.Contains(symbol.ToDisplayString());
}

internal sealed record MethodError(string Interface, string Method, string Problem);

internal sealed class ProxySource(string hintName, string source, ImmutableArray<MethodError> errors) : System.IEquatable<ProxySource>
{
    public string HintName { get; } = hintName;

    public string Source { get; } = source;

    public ImmutableArray<MethodError> Errors { get; } = errors;

    public bool Equals(ProxySource? other) => other is not null && other.HintName == HintName && other.Source == Source;

    public override bool Equals(object? obj) => Equals(obj as ProxySource);

    public override int GetHashCode() => HintName.GetHashCode() ^ Source.GetHashCode();
}
