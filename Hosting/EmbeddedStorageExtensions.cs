using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Providers;
using Orleans.Serialization;
using Orleans.Storage;
using Scheduler.Hosting.Storage;
using Scheduler.Storage;

namespace Scheduler.Hosting;

/// <summary>Options of the embedded (single-node, SQLite) storage.</summary>
public sealed class EmbeddedSchedulerStorageOptions
{
    /// <summary>Directory holding <c>scheduler.db</c> (created if missing). Required.</summary>
    public string DataDirectory { get; set; } = "";

    /// <summary>
    /// Service id the job store scopes its rows by. Default null: the cluster's <see cref="ClusterOptions.ServiceId"/>,
    /// which is what Orleans' own storage and reminder rows are always scoped by.
    /// </summary>
    public string? ServiceId { get; set; }

    /// <summary>How long a command waits for SQLite's write lock (and runs) before failing. Default 30 seconds.</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public string DatabasePath => Path.Combine(Path.GetFullPath(DataDirectory), EmbeddedSchedulerStorage.DatabaseFileName);
}

/// <summary>Constants of the embedded storage.</summary>
public static class EmbeddedSchedulerStorage
{
    /// <summary>Name of the grain storage provider (it is also registered as the default provider).</summary>
    public const string StorageProviderName = "scheduler";

    public const string DatabaseFileName = "scheduler.db";

    /// <summary>
    /// The ADO.NET invariant Orleans maps to Microsoft.Data.Sqlite's <c>SqliteFactory</c> (Orleans loads the
    /// assembly "Microsoft.Data.Sqlite" by reflection for it; "System.Data.SQLite" the package is not involved).
    /// </summary>
    public const string AdoNetInvariant = "System.Data.SQLite";
}

public static class EmbeddedStorageExtensions
{
    /// <summary>
    /// Keeps grain state, reminders and Scheduler's job tables in one SQLite file, <c>&lt;dataDirectory&gt;/scheduler.db</c>,
    /// for a single silo. The schema is migrated when the silo starts, before Orleans' providers read it.
    /// </summary>
    public static ISiloBuilder UseEmbeddedSchedulerStorage(this ISiloBuilder builder, string dataDirectory, string? serviceId = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(dataDirectory);
        return builder.UseEmbeddedSchedulerStorage(options =>
        {
            options.DataDirectory = dataDirectory;
            options.ServiceId = serviceId;
        });
    }

    public static ISiloBuilder UseEmbeddedSchedulerStorage(this ISiloBuilder builder, Action<EmbeddedSchedulerStorageOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddEmbeddedSchedulerStorage(configure);
        return builder;
    }

    /// <summary>The service-collection form; calling it again only adds another options configuration.</summary>
    public static IServiceCollection AddEmbeddedSchedulerStorage(this IServiceCollection services, Action<EmbeddedSchedulerStorageOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.Configure(configure);
        if (services.Any(d => d.ServiceType == typeof(EmbeddedSchedulerDatabase)))
            return services;

        services.AddSingleton<EmbeddedSchedulerDatabase>();
        services.AddSingleton<SchemaMigrator>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, EmbeddedSchemaMigration>();

        AdoNetSchedulerStorage.AddProviders<EmbeddedSchedulerDatabase>(services, EmbeddedSchedulerStorage.AdoNetInvariant,
            sp => sp.GetRequiredService<IOptions<EmbeddedSchedulerStorageOptions>>().Value.ServiceId);
        return services;
    }
}

/// <summary>The embedded database file: its connection string and the data source Scheduler's own code uses.</summary>
internal sealed class EmbeddedSchedulerDatabase : ISchedulerDatabase, IAsyncDisposable
{
    public EmbeddedSchedulerDatabase(IOptions<EmbeddedSchedulerStorageOptions> options)
    {
        var value = options.Value;
        if (string.IsNullOrWhiteSpace(value.DataDirectory))
            throw new OrleansConfigurationException($"{nameof(EmbeddedSchedulerStorageOptions)}.{nameof(EmbeddedSchedulerStorageOptions.DataDirectory)} must be set.");
        if (value.CommandTimeout <= TimeSpan.Zero)
            throw new OrleansConfigurationException($"{nameof(EmbeddedSchedulerStorageOptions)}.{nameof(EmbeddedSchedulerStorageOptions.CommandTimeout)} must be positive.");

        DataDirectory = Path.GetFullPath(value.DataDirectory);
        ConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = value.DatabasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            // Microsoft.Data.Sqlite retries SQLITE_BUSY until this timeout: several pooled connections share
            // one file, and in WAL mode only writers wait for each other.
            DefaultTimeout = (int)Math.Ceiling(value.CommandTimeout.TotalSeconds),
        }.ToString();
        DataSource = SqliteFactory.Instance.CreateDataSource(ConnectionString);
    }

    public string DataDirectory { get; }

    public string ConnectionString { get; }

    public DbDataSource DataSource { get; }

    public ValueTask DisposeAsync() => DataSource.DisposeAsync();
}

/// <summary>
/// Creates the data directory and migrates the schema at <see cref="ServiceLifecycleStage.RuntimeInitialize"/>:
/// before grain storage (ApplicationServices) and the reminder table (RuntimeGrainServices) read OrleansQuery.
/// </summary>
internal sealed partial class EmbeddedSchemaMigration(
    EmbeddedSchedulerDatabase database,
    SchemaMigrator migrator,
    ILogger<EmbeddedSchemaMigration> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(EmbeddedSchemaMigration), ServiceLifecycleStage.RuntimeInitialize, MigrateAsync);

    private async Task MigrateAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(database.DataDirectory);
        var result = await migrator.MigrateAsync(SchemaVendor.Sqlite, database.DataSource, cancellationToken).ConfigureAwait(false);
        LogReady(logger, database.DataDirectory, result.VersionAfter);
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Embedded storage ready in {Directory} (schema version {Version})")]
    private static partial void LogReady(ILogger logger, string directory, int version);
}
