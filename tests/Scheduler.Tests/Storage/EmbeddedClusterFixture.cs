using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using Scheduler.Hosting;
using Xunit;

namespace Scheduler.Tests.Storage;

/// <summary>One in-process silo on a temp SQLite file, shared by the tests of <see cref="EmbeddedClusterCollection"/>.</summary>
public sealed class EmbeddedClusterFixture : IStorageClusterFixture, IAsyncLifetime
{
    private readonly TempDirectory _dir = new();

    public InProcessTestCluster Cluster { get; private set; } = null!;

    /// <summary>A data directory that does not exist yet: the silo must create it.</summary>
    public string DataDirectory => Path.Combine(_dir.Path, "data");

    public IServiceProvider SiloServices => Cluster.Silos[0].ServiceProvider;

    public string ServiceId => Cluster.Options.ServiceId;

    internal string ConnectionString => SiloServices.GetRequiredService<EmbeddedSchedulerDatabase>().ConnectionString;

    public string ExpectedInvariant => EmbeddedSchedulerStorage.AdoNetInvariant;

    public async Task<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(ConnectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) => silo.UseEmbeddedSchedulerStorage(DataDirectory));
        Cluster = builder.Build();
        using var cts = Bounded.Timeout(120);
        await Cluster.DeployAsync(cts.Token).WaitAsync(cts.Token);
    }

    public async Task DisposeAsync()
    {
        if (Cluster is not null)
            await Cluster.DisposeAsync();
        _dir.Dispose();
    }
}

/// <summary>A one-silo cluster on one of our SQL stores, as the provider-neutral storage tests need it.</summary>
public interface IStorageClusterFixture
{
    InProcessTestCluster Cluster { get; }

    IServiceProvider SiloServices { get; }

    string ServiceId { get; }

    /// <summary>The ADO.NET invariant the silo's grain storage must be configured with.</summary>
    string ExpectedInvariant { get; }

    /// <summary>An open connection to the silo's database, for checks behind the providers' backs.</summary>
    Task<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken);
}

[CollectionDefinition(Name)]
public sealed class EmbeddedClusterCollection : ICollectionFixture<EmbeddedClusterFixture>
{
    public const string Name = "Embedded SQLite cluster";
}
