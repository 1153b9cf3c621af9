using System.Collections.Concurrent;
using System.Linq.Expressions;
using System.Reflection;

namespace Actors.Runtime;

/// <summary>What the runtime knows about one grain class.</summary>
internal sealed class GrainTypeInfo
{
    public GrainTypeInfo(Type grainClass, string name, TimeSpan? collectionAge)
    {
        GrainClass = grainClass;
        Name = name;
        IsReentrant = grainClass.GetCustomAttribute<ReentrantAttribute>() is not null;
        KeepAlive = grainClass.GetCustomAttribute<KeepAliveAttribute>() is not null;
        CollectionAge = grainClass.GetCustomAttribute<CollectionAgeLimitAttribute>()?.Age ?? collectionAge;
    }

    public Type GrainClass { get; }

    public string Name { get; }

    public bool IsReentrant { get; }

    public bool KeepAlive { get; }

    /// <summary>Null means the silo-wide default.</summary>
    public TimeSpan? CollectionAge { get; }

    /// <summary>The default grain type name: the class name without a "Grain" suffix, lower-cased.</summary>
    public static string DefaultName(Type grainClass)
    {
        var explicitName = grainClass.GetCustomAttribute<GrainTypeAttribute>()?.Name;
        if (explicitName is not null)
        {
            return explicitName;
        }

        var name = grainClass.Name;
        if (name.EndsWith("Grain", StringComparison.Ordinal) && name.Length > "Grain".Length)
        {
            name = name[..^"Grain".Length];
        }

        return name.ToLowerInvariant();
    }
}

/// <summary>Maps grain interfaces to grain classes and grain type names to classes; builds proxy factories.</summary>
internal sealed class GrainTypeRegistry
{
    private readonly Dictionary<string, GrainTypeInfo> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<Type, GrainTypeInfo> _byInterface = [];
    private readonly HashSet<Type> _ambiguousInterfaces = [];
    private readonly Dictionary<string, List<string>> _implicitConsumers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Type, Func<GrainId, IGrainCallInvoker, GrainReference>> _proxyFactories = new();

    public GrainTypeRegistry(IEnumerable<Type> grainClasses, ActorRuntimeOptions options)
    {
        foreach (var grainClass in grainClasses.Distinct())
        {
            var name = GrainTypeInfo.DefaultName(grainClass);
            options.CollectionAgeByGrainType.TryGetValue(name, out var age);
            var info = new GrainTypeInfo(grainClass, name, age == TimeSpan.Zero ? null : age);
            if (!_byName.TryAdd(name, info))
            {
                throw new InvalidOperationException(
                    $"Grain classes {_byName[name].GrainClass} and {grainClass} share the type name '{name}'; give one a [GrainType] name.");
            }

            foreach (var subscription in grainClass.GetCustomAttributes<ImplicitStreamSubscriptionAttribute>())
            {
                if (!_implicitConsumers.TryGetValue(subscription.Namespace, out var consumers))
                {
                    _implicitConsumers[subscription.Namespace] = consumers = [];
                }

                consumers.Add(name);
            }

            foreach (var grainInterface in grainClass.GetInterfaces().Where(IsGrainInterface))
            {
                if (!_byInterface.TryAdd(grainInterface, info))
                {
                    _ambiguousInterfaces.Add(grainInterface);
                }
            }
        }
    }

    public IEnumerable<GrainTypeInfo> All => _byName.Values;

    /// <summary>Grain type names with an implicit subscription to the stream namespace.</summary>
    public IReadOnlyList<string> ImplicitConsumersOf(string streamNamespace) =>
        _implicitConsumers.TryGetValue(streamNamespace, out var consumers) ? consumers : [];

    /// <summary>Assemblies whose request classes may arrive over the wire: those declaring the known grain interfaces.</summary>
    public bool DeclaresGrainInterfaces(System.Reflection.Assembly assembly) =>
        assembly == typeof(IAddressable).Assembly || _byInterface.Keys.Any(i => i.Assembly == assembly);

    private static readonly HashSet<Type> RuntimeMarkers =
        [typeof(IAddressable), typeof(IGrain), typeof(IGrainWithStringKey), typeof(IGrainWithGuidKey), typeof(IRemindable)];

    public static bool IsGrainInterface(Type type) =>
        type.IsInterface && typeof(IAddressable).IsAssignableFrom(type) && !RuntimeMarkers.Contains(type);

    public static IEnumerable<Type> FindGrainClasses(Assembly assembly) =>
        assembly.GetTypes().Where(t => t is { IsClass: true, IsAbstract: false } && typeof(Grain).IsAssignableFrom(t)
                                       && !t.ContainsGenericParameters);

    public GrainTypeInfo GetByName(string name) =>
        _byName.TryGetValue(name, out var info)
            ? info
            : throw new InvalidOperationException($"No grain class is registered with type name '{name}'.");

    public string GetTypeName(Type grainInterface)
    {
        if (_ambiguousInterfaces.Contains(grainInterface))
        {
            throw new InvalidOperationException(
                $"More than one grain class implements {grainInterface.Name}; call it by GrainId instead.");
        }

        return _byInterface.TryGetValue(grainInterface, out var info)
            ? info.Name
            : throw new InvalidOperationException(
                $"No grain class implementing {grainInterface.Name} is registered with this silo; add its assembly with AddGrains.");
    }

    public GrainReference CreateReference(Type grainInterface, GrainId grainId, IGrainCallInvoker invoker) =>
        _proxyFactories.GetOrAdd(grainInterface, BuildProxyFactory)(grainId, invoker);

    private static Func<GrainId, IGrainCallInvoker, GrainReference> BuildProxyFactory(Type grainInterface)
    {
        var proxyType = grainInterface.Assembly.GetCustomAttributes<GrainProxyAttribute>()
            .FirstOrDefault(a => a.GrainInterface == grainInterface)?.Proxy
            ?? throw new InvalidOperationException(
                $"No generated proxy for {grainInterface.FullName}. Set <UsesGrainCodeGen>true</UsesGrainCodeGen> in the project that declares it.");
        var id = Expression.Parameter(typeof(GrainId));
        var invoker = Expression.Parameter(typeof(IGrainCallInvoker));
        var constructor = proxyType.GetConstructor([typeof(GrainId), typeof(IGrainCallInvoker)])
            ?? throw new InvalidOperationException($"{proxyType} lacks the (GrainId, IGrainCallInvoker) constructor.");
        return Expression.Lambda<Func<GrainId, IGrainCallInvoker, GrainReference>>(
            Expression.New(constructor, id, invoker), id, invoker).Compile();
    }
}
