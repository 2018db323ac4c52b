using Microsoft.Data.Sqlite;
using Scheduler.Hosting.Storage;
using Scheduler.Storage;
using Xunit;

namespace Scheduler.Tests.Storage;

public sealed class SchemaMigratorTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly SchemaMigrator _migrator = new();

    private string ConnectionString => new SqliteConnectionStringBuilder { DataSource = _dir.File("migrate.db") }.ToString();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void GetScripts_ListsEmbeddedSqliteScriptsInOrder_WhenAsked()
    {
        var scripts = _migrator.GetScripts(SchemaVendor.Sqlite);

        Assert.Equal(["sql/sqlite/0001_orleans.sql", "sql/sqlite/0002_scheduler.sql", "sql/sqlite/0003_history.sql", "sql/sqlite/0004_job_state.sql", "sql/sqlite/0005_workflows.sql", "sql/sqlite/0006_queue_order.sql", "sql/sqlite/0007_due_time.sql", "sql/sqlite/0008_schedules.sql", "sql/sqlite/0009_retention.sql", "sql/sqlite/0010_flow_keys.sql", "sql/sqlite/0011_access.sql", "sql/sqlite/0012_webhooks.sql", "sql/sqlite/0013_job_listing.sql", "sql/sqlite/0014_open_rows.sql", "sql/sqlite/0015_history_key.sql"], scripts.Select(s => s.ResourceName));
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15], scripts.Select(s => s.Version));
    }

    [Fact]
    public async Task MigrateAsync_AppliesEveryScript_WhenDatabaseIsNew()
    {
        using var cts = Bounded.Timeout();

        var result = await _migrator.MigrateAsync(SchemaVendor.Sqlite, ConnectionString, cts.Token).WaitAsync(cts.Token);

        Assert.Equal(0, result.VersionBefore);
        Assert.Equal(15, result.VersionAfter);
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15], result.Applied.Select(s => s.Version));
        await using var connection = new SqliteConnection(ConnectionString);
        await connection.OpenAsync(cts.Token);
        Assert.Equal("wal", await ScalarAsync<string>(connection, "PRAGMA journal_mode;", cts.Token));
        Assert.Equal(2L, await ScalarAsync<long>(connection, "PRAGMA synchronous;", cts.Token)); // FULL: a commit survives a crash
        Assert.Equal(15L, await ScalarAsync<long>(connection, "SELECT COUNT(*) FROM scheduler_schema_version;", cts.Token));
        Assert.Equal(11L, await ScalarAsync<long>(connection, "SELECT COUNT(*) FROM OrleansQuery;", cts.Token));
        Assert.Equal(0L, await ScalarAsync<long>(connection, "SELECT COUNT(*) FROM scheduler_jobs;", cts.Token));
    }

    [Fact]
    public async Task MigrateAsync_DoesNothing_WhenRunASecondTime()
    {
        using var cts = Bounded.Timeout();
        await _migrator.MigrateAsync(SchemaVendor.Sqlite, ConnectionString, cts.Token).WaitAsync(cts.Token);

        var second = await _migrator.MigrateAsync(SchemaVendor.Sqlite, ConnectionString, cts.Token).WaitAsync(cts.Token);

        Assert.Equal(15, second.VersionBefore);
        Assert.Equal(15, second.VersionAfter);
        Assert.Empty(second.Applied);
    }

    [Fact]
    public async Task Scripts_AreIdempotent_WhenRunAgainBeyondTheVersionTable()
    {
        using var cts = Bounded.Timeout();
        await _migrator.MigrateAsync(SchemaVendor.Sqlite, ConnectionString, cts.Token).WaitAsync(cts.Token);
        await using var connection = new SqliteConnection(ConnectionString);
        await connection.OpenAsync(cts.Token);

        foreach (var script in _migrator.GetScripts(SchemaVendor.Sqlite))
        {
            using var stream = typeof(SchemaMigrator).Assembly.GetManifestResourceStream(script.ResourceName)!;
            using var reader = new StreamReader(stream);
            var sql = await reader.ReadToEndAsync(cts.Token);
            // SQLite has no ADD COLUMN IF NOT EXISTS: such a script runs once, guarded by the version table only
            // (which MigrateAsync_DoesNothing_WhenRunASecondTime covers).
            if (sql.Contains("ADD COLUMN", StringComparison.Ordinal))
                continue;
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            await command.ExecuteNonQueryAsync(cts.Token);
        }

        Assert.Equal(11L, await ScalarAsync<long>(connection, "SELECT COUNT(*) FROM OrleansQuery;", cts.Token));
    }

    [Fact]
    public async Task MigrateAsync_RefusesWithBothVersions_WhenDatabaseIsNewerThanSilo()
    {
        using var cts = Bounded.Timeout();
        await _migrator.MigrateAsync(SchemaVendor.Sqlite, ConnectionString, cts.Token).WaitAsync(cts.Token);
        await using (var connection = new SqliteConnection(ConnectionString))
        {
            await connection.OpenAsync(cts.Token);
            await using var command = connection.CreateCommand();
            command.CommandText = "INSERT INTO scheduler_schema_version (version, script, applied_at) VALUES (16, 'sql/sqlite/0016_future.sql', 0);";
            await command.ExecuteNonQueryAsync(cts.Token);
        }

        var error = await Assert.ThrowsAsync<SchemaVersionException>(
            () => _migrator.MigrateAsync(SchemaVendor.Sqlite, ConnectionString, cts.Token).WaitAsync(cts.Token));

        Assert.Contains("version 16", error.Message);
        Assert.Contains("up to 15", error.Message);
        Assert.Contains("silo is older than the database", error.Message);
    }

    [Fact]
    public async Task MigrateAsync_FromVersion5_KeepsOpenJobsQueuedByTheirCreationWithNoSizeHint()
    {
        using var cts = Bounded.Timeout();
        var id = JobId.New();
        var created = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
        await using (var connection = new SqliteConnection(ConnectionString))
        {
            await connection.OpenAsync(cts.Token);
            // The database as a silo of schema version 5 left it, with an open job in it.
            await ExecuteAsync(connection, "CREATE TABLE scheduler_schema_version (version integer NOT NULL PRIMARY KEY, script varchar(200) NOT NULL, applied_at bigint NOT NULL);", cts.Token);
            foreach (var script in _migrator.GetScripts(SchemaVendor.Sqlite).Where(s => s.Version <= 5))
            {
                await ExecuteAsync(connection, ReadScript(script), cts.Token);
                await ExecuteAsync(connection, $"INSERT INTO scheduler_schema_version VALUES ({script.Version}, '{script.ResourceName}', 0);", cts.Token);
            }
            await ExecuteAsync(connection, $"""
                INSERT INTO scheduler_jobs
                    (service_id, job_id, queue, shard, priority, tenant, handler, state, attempt, created_at, updated_at, version, data)
                VALUES ('svc', '{id}', 'default', 0, 60, 't1', 'command', {(int)JobState.Queued}, 0, {created.UtcTicks}, {created.UtcTicks}, 1, NULL);
                """, cts.Token);
        }

        var result = await _migrator.MigrateAsync(SchemaVendor.Sqlite, ConnectionString, cts.Token).WaitAsync(cts.Token);

        Assert.Equal([6, 7, 8, 9, 10, 11, 12, 13, 14, 15], result.Applied.Select(s => s.Version));
        await using var dataSource = SqliteFactory.Instance.CreateDataSource(ConnectionString);
        var open = await new SqliteJobStore(dataSource, "svc").LoadOpenAsync("default", 0, DateTimeOffset.MaxValue, cts.Token).WaitAsync(cts.Token);
        Assert.Equal(new QueueEntry(id, 60, created.UtcTicks, SizeHint: 0, Tenant: "t1"), Assert.Single(open));
    }

    private static string ReadScript(SchemaScript script)
    {
        using var stream = typeof(SchemaMigrator).Assembly.GetManifestResourceStream(script.ResourceName)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<T> ScalarAsync<T>(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (T)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}
