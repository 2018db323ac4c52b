using System.Data.Common;
using Npgsql;
using Orleans.TestingHost;
using Scheduler.Hosting;
using Scheduler.Hosting.Storage;
using Scheduler.Tests.Infrastructure;
using Scheduler.Tests.Storage;

namespace Scheduler.Tests.Postgres;

/// <summary>
/// Holds the test process's PostgreSQL server for the whole <see cref="PostgresCollection"/>, so it starts once;
/// the class fixtures of the collection take leases on the same server.
/// </summary>
public sealed class PostgresServerFixture : IAsyncLifetime
{
    private PostgresServer.Lease? _lease;

    public PostgresServer Server => _lease?.Server ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        using var cts = Bounded.Timeout(180);
        _lease = await PostgresServer.AcquireAsync(cts.Token).WaitAsync(cts.Token);
    }

    public async Task DisposeAsync()
    {
        if (_lease is not null)
            await _lease.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServerFixture>
{
    public const string Name = "PostgreSQL server";
}

/// <summary>A database of its own, migrated, for one test class.</summary>
public sealed class PostgresDatabaseFixture : IAsyncLifetime
{
    private PostgresServer.Lease? _lease;

    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        using var cts = Bounded.Timeout(180);
        _lease = await PostgresServer.AcquireAsync(cts.Token).WaitAsync(cts.Token);
        ConnectionString = await _lease.Server.CreateDatabaseAsync("jobs", cts.Token).WaitAsync(cts.Token);
        await new SchemaMigrator().MigrateAsync(SchemaVendor.PostgreSql, ConnectionString, cts.Token).WaitAsync(cts.Token);
    }

    public async Task DisposeAsync()
    {
        if (_lease is not null)
            await _lease.DisposeAsync();
    }
}

/// <summary>
/// One in-process silo on <see cref="PostgresStorageExtensions.UsePostgresSchedulerStorage(ISiloBuilder, string, string?)"/>,
/// on a new, empty database (the silo migrates it), with a service id of its own: one per test class.
/// </summary>
public sealed class PostgresClusterFixture : IStorageClusterFixture, IAsyncLifetime
{
    private PostgresServer.Lease? _lease;

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IServiceProvider SiloServices => Cluster.Silos[0].ServiceProvider;

    public string ServiceId { get; } = "pg-" + Guid.NewGuid().ToString("N");

    public string ExpectedInvariant => PostgresSchedulerStorage.AdoNetInvariant;

    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        using var cts = Bounded.Timeout(180);
        _lease = await PostgresServer.AcquireAsync(cts.Token).WaitAsync(cts.Token);
        ConnectionString = await _lease.Server.CreateDatabaseAsync("cluster", cts.Token).WaitAsync(cts.Token);
        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.ClusterId = ServiceId;
        builder.Options.ServiceId = ServiceId;
        builder.ConfigureSilo((_, silo) => silo.UsePostgresSchedulerStorage(ConnectionString));
        Cluster = builder.Build();
        await Cluster.DeployAsync(cts.Token).WaitAsync(cts.Token);
    }

    public async Task<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    public async Task DisposeAsync()
    {
        if (Cluster is not null)
            await Cluster.DisposeAsync();
        if (_lease is not null)
            await _lease.DisposeAsync();
    }
}
