using Npgsql;
using Scheduler.Storage;
using Scheduler.Tests.Storage;

namespace Scheduler.Tests.Postgres;

/// <summary>Retention on sql/postgresql: the same scenarios as on SQLite and in memory.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresRetentionTests(PostgresDatabaseFixture database) : RetentionContract, IClassFixture<PostgresDatabaseFixture>
{
    private NpgsqlDataSource? _dataSource;

    protected override Task<ISchedulerStore> CreateStoreAsync(string serviceId, CancellationToken cancellationToken)
    {
        _dataSource ??= NpgsqlDataSource.Create(database.ConnectionString);
        return Task.FromResult<ISchedulerStore>(new PostgresJobStore(_dataSource, serviceId));
    }

    public override async Task DisposeAsync()
    {
        if (_dataSource is not null)
            await _dataSource.DisposeAsync();
    }
}
