using System.Diagnostics;
using System.Reflection;
using Actors.Runtime;

namespace Actors.Bench;

public interface IAdderGrain : IGrainWithStringKey
{
    Task<int> Add(int amount);
}

/// <summary>
/// Why proxies are generated at build time: the cost of turning an interface call into an invocation on the
/// grain object. The generated proxy (typed request, direct interface call) against a run-time DispatchProxy
/// (object[] arguments, MethodInfo.Invoke). Both hand the call straight to the object, with no scheduling,
/// so the difference is the proxy alone.
/// </summary>
internal static class ProxyBenchmarks
{
    public static Task RunAsync(BenchOptions options, Report report)
    {
        var target = new Adder();
        var registry = new GrainTypeRegistry([], new ActorRuntimeOptions());
        var generated = (IAdderGrain)registry.CreateReference(typeof(IAdderGrain), new GrainId("adder", "1"), new DirectInvoker(target));
        var reflecting = DispatchProxy.Create<IAdderGrain, ReflectingProxy>();
        ((ReflectingProxy)(object)reflecting).Target = target;

        var generatedRate = Rate(() => generated.Add(1), options.Duration);
        var reflectingRate = Rate(() => reflecting.Add(1), options.Duration);
        report.Add("proxy calls/s, generated proxy (1 thread, no scheduling)", generatedRate, "DispatchProxy + MethodInfo.Invoke", reflectingRate);
        return Task.CompletedTask;
    }

    private static double Rate(Func<Task<int>> call, TimeSpan duration)
    {
        for (var i = 0; i < 200_000; i++)
        {
            call();
        }

        var stopwatch = Stopwatch.StartNew();
        long n = 0;
        while (stopwatch.Elapsed < duration)
        {
            for (var i = 0; i < 10_000; i++)
            {
                call();
            }

            n += 10_000;
        }

        return n / stopwatch.Elapsed.TotalSeconds;
    }

    private sealed class Adder : IAdderGrain
    {
        private int _sum;

        public Task<int> Add(int amount) => Task.FromResult(_sum += amount);
    }

    private sealed class DirectInvoker(object target) : IGrainCallInvoker
    {
        public Task<TResult> Invoke<TResult>(GrainId target1, GrainRequest<TResult> request) => request.InvokeAsync(target).AsTask();
    }

    public class ReflectingProxy : DispatchProxy
    {
        public object? Target { get; set; }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) => targetMethod!.Invoke(Target, args);
    }
}
