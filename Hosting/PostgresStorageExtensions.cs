using System.Data.Common;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using Orleans.Providers;
using Orleans.Serialization;
using Orleans.Storage;
using Scheduler.Hosting.Storage;
using Scheduler.Storage;

namespace Scheduler.Hosting;

/// <summary>Options of the PostgreSQL storage (the cluster profile: every silo shares one database).</summary>
public sealed class PostgresSchedulerStorageOptions
{
    /// <summary>
    /// Npgsql connection string, e.g. <c>Host=db;Database=scheduler;Username=scheduler;Password=…</c>. Required.
    /// Settings it does not name get Scheduler's defaults (see <see cref="PostgresSchedulerStorage.DefaultMaxPoolSize"/>).
    /// It may hold a password: it is never logged (logs name host, port and database only).
    /// </summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>
    /// Service id the job store scopes its rows by. Default null: the cluster's <see cref="ClusterOptions.ServiceId"/>,
    /// which is what Orleans' own storage and reminder rows are always scoped by.
    /// </summary>
    public string? ServiceId { get; set; }
}

/// <summary>Constants of the PostgreSQL storage.</summary>
public static class PostgresSchedulerStorage
{
    /// <summary>Name of the grain storage provider (it is also registered as the default provider).</summary>
    public const string StorageProviderName = EmbeddedSchedulerStorage.StorageProviderName;

    /// <summary>The ADO.NET invariant Orleans maps to Npgsql (loaded by reflection; this library references Npgsql).</summary>
    public const string AdoNetInvariant = "Npgsql";

    /// <summary>
    /// Connections per pool when the connection string names no <c>Maximum Pool Size</c>: room for many state
    /// writes in flight (each holds a connection for one round trip). Npgsql's own default is 100; every silo
    /// has up to two such pools (Orleans' providers, and Scheduler's job store), so size the server's
    /// <c>max_connections</c> for silos × 2 × this, or set a smaller pool in the connection string.
    /// </summary>
    public const int DefaultMaxPoolSize = 64;

    /// <summary>
    /// Statements the job store's connections prepare once they have run a few times, when the connection string
    /// names no <c>Max Auto Prepare</c>: PostgreSQL then parses each of its few statements once per connection.
    /// <c>Max Auto Prepare=0</c> turns it off, e.g. behind a pooler that cannot keep prepared statements.
    /// </summary>
    public const int DefaultMaxAutoPrepare = 32;

    /// <summary>
    /// The connection string with Scheduler's defaults for what it leaves out: <see cref="DefaultMaxPoolSize"/>
    /// and an application name. Anything the string names is kept as given.
    /// </summary>
    public static string CompleteConnectionString(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var given = new NpgsqlConnectionStringBuilder(connectionString); // also validates every keyword
        var named = NamedKeywords(connectionString);
        if (!named.Contains("maxpoolsize") && !named.Contains("maximumpoolsize"))
            given.MaxPoolSize = DefaultMaxPoolSize;
        if (!named.Contains("applicationname"))
            given.ApplicationName = "scheduler";
        return given.ConnectionString;
    }

    /// <summary>
    /// The job store's own pool, from a <see cref="CompleteConnectionString">completed</see> string:
    /// <list type="bullet">
    /// <item>no reset when a connection returns to the pool: the job store's statements leave no session state, and
    /// that saves PostgreSQL a <c>DISCARD ALL</c> per use;</item>
    /// <item>statements prepared automatically (<see cref="DefaultMaxAutoPrepare"/>, unless the string names it);</item>
    /// <item><c>plan_cache_mode=force_custom_plan</c> (unless the string's <c>Options</c> set it): a prepared
    /// statement is still planned for its parameters on every execution. PostgreSQL would otherwise switch to a
    /// generic plan after five executions and keep it; made while the tables are small (a new database), such a
    /// plan scans a whole service's rows for each batched read, long after the tables have grown.</item>
    /// </list>
    /// Measured in docs/benchmarks.md (Workflows).
    /// </summary>
    public static string JobStoreConnectionString(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { NoResetOnClose = true };
        if (!NamedKeywords(connectionString).Contains("maxautoprepare"))
            builder.MaxAutoPrepare = DefaultMaxAutoPrepare;
        var options = builder.Options ?? "";
        if (!options.Contains("plan_cache_mode", StringComparison.OrdinalIgnoreCase))
            builder.Options = $"{options} -c plan_cache_mode=force_custom_plan".TrimStart();
        return builder.ConnectionString;
    }

    /// <summary>The keywords a connection string names, lower case without spaces ("Max Pool Size" → "maxpoolsize").</summary>
    private static HashSet<string> NamedKeywords(string connectionString) =>
        new DbConnectionStringBuilder { ConnectionString = connectionString }.Keys
            .Cast<string>()
            .Select(k => k.Replace(" ", "", StringComparison.Ordinal).ToLowerInvariant())
            .ToHashSet(StringComparer.Ordinal);
}

public static class PostgresStorageExtensions
{
    /// <summary>
    /// Keeps grain state, reminders and Scheduler's job tables in one PostgreSQL database, shared by every silo
    /// of the cluster. The schema is migrated when a silo starts, before Orleans' providers read it; silos
    /// starting together take turns.
    /// </summary>
    public static ISiloBuilder UsePostgresSchedulerStorage(this ISiloBuilder builder, string connectionString, string? serviceId = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return builder.UsePostgresSchedulerStorage(options =>
        {
            options.ConnectionString = connectionString;
            options.ServiceId = serviceId;
        });
    }

    public static ISiloBuilder UsePostgresSchedulerStorage(this ISiloBuilder builder, Action<PostgresSchedulerStorageOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddPostgresSchedulerStorage(configure);
        return builder;
    }

    /// <summary>The service-collection form; calling it again only adds another options configuration.</summary>
    public static IServiceCollection AddPostgresSchedulerStorage(this IServiceCollection services, Action<PostgresSchedulerStorageOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.Configure(configure);
        if (services.Any(d => d.ServiceType == typeof(PostgresSchedulerDatabase)))
            return services;

        services.AddSingleton<PostgresSchedulerDatabase>();
        services.AddStartupDeadline();
        services.AddSingleton<SchemaMigrator>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, PostgresSchemaMigration>();

        AdoNetSchedulerStorage.AddProviders<PostgresSchedulerDatabase>(services, PostgresSchedulerStorage.AdoNetInvariant,
            sp => sp.GetRequiredService<IOptions<PostgresSchedulerStorageOptions>>().Value.ServiceId);
        return services;
    }
}

/// <summary>The PostgreSQL database: the completed connection string and the data source Scheduler's own code uses.</summary>
internal sealed class PostgresSchedulerDatabase : ISchedulerDatabase, IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;

    public PostgresSchedulerDatabase(IOptions<PostgresSchedulerStorageOptions> options)
    {
        var value = options.Value;
        if (string.IsNullOrWhiteSpace(value.ConnectionString))
            throw new OrleansConfigurationException($"{nameof(PostgresSchedulerStorageOptions)}.{nameof(PostgresSchedulerStorageOptions.ConnectionString)} must be set.");
        try
        {
            ConnectionString = PostgresSchedulerStorage.CompleteConnectionString(value.ConnectionString);
        }
        catch (ArgumentException e)
        {
            // The message names the bad keyword, never the password.
            throw new OrleansConfigurationException($"{nameof(PostgresSchedulerStorageOptions)}.{nameof(PostgresSchedulerStorageOptions.ConnectionString)} is not a valid Npgsql connection string: {e.Message}", e);
        }
        _dataSource = NpgsqlDataSource.Create(PostgresSchedulerStorage.JobStoreConnectionString(ConnectionString));
    }

    /// <summary>Where the database is, for logs: host, port and database name, never credentials.</summary>
    public string Describe()
    {
        var builder = new NpgsqlConnectionStringBuilder(ConnectionString);
        return $"{builder.Host}:{builder.Port}/{builder.Database}";
    }

    public string ConnectionString { get; }

    public DbDataSource DataSource => _dataSource;

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}

/// <summary>
/// Migrates the schema at <see cref="ServiceLifecycleStage.RuntimeInitialize"/>: before grain storage
/// (ApplicationServices) and the reminder table (RuntimeGrainServices) read OrleansQuery. While PostgreSQL is
/// unreachable (refused, timed out, starting up) it retries with backoff until the start-up deadline
/// (<see cref="SchedulerStartupOptions.Timeout"/>); other errors (wrong password, missing database) stop the start at once.
/// </summary>
internal sealed partial class PostgresSchemaMigration(
    PostgresSchedulerDatabase database,
    SchemaMigrator migrator,
    StartupDeadline deadline,
    ILogger<PostgresSchemaMigration> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(PostgresSchemaMigration), ServiceLifecycleStage.RuntimeInitialize, MigrateAsync);

    private async Task MigrateAsync(CancellationToken cancellationToken)
    {
        var result = await StartupRetry.RunAsync(
            "PostgreSQL",
            database.Describe(),
            token => migrator.MigrateAsync(SchemaVendor.PostgreSql, database.DataSource, token),
            IsTransient,
            StartupRetry.Describe,
            deadline,
            logger,
            cancellationToken).ConfigureAwait(false);
        LogReady(logger, database.Describe(), result.VersionAfter);
    }

    /// <summary>Not there yet: refused or timed out connections, a server starting up or shutting down.</summary>
    internal static bool IsTransient(Exception e) => e switch
    {
        NpgsqlException n => n.IsTransient,
        System.Net.Sockets.SocketException or TimeoutException => true,
        _ => false,
    };

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "PostgreSQL storage ready at {Database} (schema version {Version})")]
    private static partial void LogReady(ILogger logger, string database, int version);
}
