using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Actors.Extensions.Tests.AdoNet;

/// <summary>Orleans' warnings (and membership decisions) into the test's output, so a failing cluster test says why.</summary>
internal sealed class TestOutputLoggerProvider(ITestOutputHelper? output) : ILoggerProvider
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly ITestOutputHelper? _output = output;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(TestOutputLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) =>
            logLevel >= LogLevel.Warning || (logLevel >= LogLevel.Information && category.Contains("Membership", StringComparison.Ordinal));

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel) || provider._output is null) return;
            try
            {
                provider._output.WriteLine($"[{provider._clock.Elapsed.TotalSeconds:F3}] {logLevel} {category}: {formatter(state, exception)}{(exception is null ? "" : " " + exception.GetType().Name + ": " + exception.Message)}");
            }
            catch (InvalidOperationException)
            {
                // the test has finished; its output no longer accepts lines
            }
        }
    }
}
