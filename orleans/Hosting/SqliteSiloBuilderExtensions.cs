using Actors.Extensions.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Hosting;
using Orleans.Providers;
using Orleans.Runtime;
using Orleans.Runtime.Hosting;

namespace Actors.Extensions.Hosting;

/// <summary>
/// Grain storage and the reminder table on SQLite (<see cref="SqliteGrainStorage"/>, <see cref="SqliteReminderTable"/>).
/// Providers that name the same file share one writer and its group commit. Options are validated at start.
/// </summary>
public static class SqliteSiloBuilderExtensions
{
    /// <summary>Adds a named SQLite grain storage provider, used by <c>[PersistentState("state", name)]</c>.</summary>
    public static ISiloBuilder AddSqliteGrainStorage(this ISiloBuilder builder, string name, Action<SqliteGrainStorageOptions> configure) =>
        builder.ConfigureServices(services => services.AddSqliteGrainStorage(name, options => options.Configure(configure)));

    /// <summary>Adds a named SQLite grain storage provider; the options builder allows binding (<c>BindConfiguration</c>).</summary>
    public static ISiloBuilder AddSqliteGrainStorage(this ISiloBuilder builder, string name,
        Action<OptionsBuilder<SqliteGrainStorageOptions>>? configureOptions = null) =>
        builder.ConfigureServices(services => services.AddSqliteGrainStorage(name, configureOptions));

    /// <summary>Adds the SQLite grain storage as the default provider (used by <c>[PersistentState("state")]</c>).</summary>
    public static ISiloBuilder AddSqliteGrainStorageAsDefault(this ISiloBuilder builder, Action<SqliteGrainStorageOptions> configure) =>
        builder.AddSqliteGrainStorage(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME, configure);

    /// <summary>Adds the SQLite grain storage as the default provider; the options builder allows binding.</summary>
    public static ISiloBuilder AddSqliteGrainStorageAsDefault(this ISiloBuilder builder,
        Action<OptionsBuilder<SqliteGrainStorageOptions>>? configureOptions = null) =>
        builder.AddSqliteGrainStorage(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME, configureOptions);

    /// <summary>Uses Orleans' reminder service with its table in SQLite.</summary>
    public static ISiloBuilder UseSqliteReminders(this ISiloBuilder builder, Action<SqliteReminderTableOptions> configure) =>
        builder.ConfigureServices(services => services.UseSqliteReminders(options => options.Configure(configure)));

    /// <summary>Uses Orleans' reminder service with its table in SQLite; the options builder allows binding.</summary>
    public static ISiloBuilder UseSqliteReminders(this ISiloBuilder builder, Action<OptionsBuilder<SqliteReminderTableOptions>> configureOptions) =>
        builder.ConfigureServices(services => services.UseSqliteReminders(configureOptions));

    public static IServiceCollection AddSqliteGrainStorage(this IServiceCollection services, string name,
        Action<OptionsBuilder<SqliteGrainStorageOptions>>? configureOptions = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var options = services.AddOptions<SqliteGrainStorageOptions>(name).ValidateOnStart();
        configureOptions?.Invoke(options);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SqliteGrainStorageOptions>, SqliteGrainStorageOptionsValidator>());
        services.AddSqliteDatabases();
        return services.AddGrainStorage(name, SqliteGrainStorage.Create);
    }

    public static IServiceCollection UseSqliteReminders(this IServiceCollection services, Action<OptionsBuilder<SqliteReminderTableOptions>> configureOptions)
    {
        ArgumentNullException.ThrowIfNull(configureOptions);
        services.AddReminders();
        configureOptions(services.AddOptions<SqliteReminderTableOptions>().ValidateOnStart());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SqliteReminderTableOptions>, SqliteReminderTableOptionsValidator>());
        services.AddSqliteDatabases();
        services.AddSingleton<IReminderTable>(sp => new SqliteReminderTable(
            sp.GetRequiredService<IOptions<SqliteReminderTableOptions>>(),
            sp.GetRequiredService<IOptions<Orleans.Configuration.ClusterOptions>>(),
            sp.GetRequiredService<SqliteDatabases>()));
        return services;
    }

    private static void AddSqliteDatabases(this IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(SqliteDatabases)))
        {
            return;
        }

        services.AddSingleton<SqliteDatabases>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<SqliteDatabases>());
    }
}
