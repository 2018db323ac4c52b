using System.Data.Common;
using Npgsql;
using Scheduler.Storage;
using Scheduler.Tests.Storage;

namespace Scheduler.Tests.Postgres;

/// <summary>PostgresJobStore and GroupCommitJobStore on sql/postgresql: the same scenarios as on SQLite.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresSqlJobStoreTests(PostgresDatabaseFixture database) : SqlJobStoreContract, IClassFixture<PostgresDatabaseFixture>
{
    protected override Task<DbDataSource> CreateMigratedDataSourceAsync(CancellationToken cancellationToken) =>
        Task.FromResult<DbDataSource>(NpgsqlDataSource.Create(database.ConnectionString));

    protected override Task CleanUpAsync() => Task.CompletedTask;

    protected override SqlJobStore CreateStore(DbDataSource dataSource, string serviceId) => new PostgresJobStore(dataSource, serviceId);
}
