using System.Collections.Concurrent;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;

namespace Actors.Runtime;

/// <summary>
/// Creates grain instances with constructor injection: services from the container, and
/// <see cref="IPersistentState{T}"/> for parameters marked <see cref="PersistentStateAttribute"/>.
/// The plan per class is worked out once.
/// </summary>
internal sealed class GrainActivator(IServiceProvider services, GrainRuntime runtime)
{
    private readonly ConcurrentDictionary<Type, Func<ActivationData, object?[]>> _argumentPlans = new();
    private readonly ConcurrentDictionary<Type, ConstructorInfo> _constructors = new();

    public Grain CreateInstance(ActivationData activation)
    {
        var grainClass = activation.TypeInfo.GrainClass;
        var constructor = _constructors.GetOrAdd(grainClass, PickConstructor);
        var arguments = _argumentPlans.GetOrAdd(grainClass, _ => PlanArguments(constructor))(activation);
        return Grain.Construct(activation, () => (Grain)constructor.Invoke(arguments));
    }

    private static ConstructorInfo PickConstructor(Type grainClass) =>
        grainClass.GetConstructors().OrderByDescending(c => c.GetParameters().Length).FirstOrDefault()
        ?? throw new InvalidOperationException($"{grainClass} has no public constructor.");

    private Func<ActivationData, object?[]> PlanArguments(ConstructorInfo constructor)
    {
        var providers = constructor.GetParameters().Select(PlanArgument).ToArray();
        return activation =>
        {
            var arguments = new object?[providers.Length];
            for (var i = 0; i < providers.Length; i++)
            {
                arguments[i] = providers[i](activation);
            }

            return arguments;
        };
    }

    private Func<ActivationData, object?> PlanArgument(ParameterInfo parameter)
    {
        var type = parameter.ParameterType;
        if (parameter.GetCustomAttribute<PersistentStateAttribute>() is { } stateAttribute)
        {
            if (!type.IsGenericType || type.GetGenericTypeDefinition() != typeof(IPersistentState<>))
            {
                throw new InvalidOperationException(
                    $"[PersistentState] parameter '{parameter.Name}' of {parameter.Member.DeclaringType} must be IPersistentState<T>.");
            }

            var stateType = typeof(PersistentState<>).MakeGenericType(type.GetGenericArguments()[0]);
            var storageName = stateAttribute.StorageName;
            return activation =>
            {
                var storage = services.GetKeyedService<IGrainStorage>(storageName)
                    ?? throw new InvalidOperationException(
                        $"No grain storage named '{storageName}' is configured (needed by {activation.TypeInfo.GrainClass.Name}).");
                return System.Activator.CreateInstance(
                    stateType, BindingFlags.Instance | BindingFlags.NonPublic, null, [activation, stateAttribute.StateName, storage], null);
            };
        }

        if (type == typeof(IGrainFactory))
        {
            return _ => runtime;
        }

        return _ => services.GetService(type)
                    ?? (parameter.HasDefaultValue
                        ? parameter.DefaultValue
                        : throw new InvalidOperationException(
                            $"{parameter.Member.DeclaringType} needs a {type.Name} ('{parameter.Name}'), which is not registered."));
    }
}
