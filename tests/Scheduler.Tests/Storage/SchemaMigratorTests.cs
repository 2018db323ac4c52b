using Microsoft.Data.Sqlite;
using Scheduler.Hosting.Storage;
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

        Assert.Equal(["sql/sqlite/0001_orleans.sql", "sql/sqlite/0002_scheduler.sql", "sql/sqlite/0003_history.sql", "sql/sqlite/0004_job_state.sql", "sql/sqlite/0005_workflows.sql"], scripts.Select(s => s.ResourceName));
        Assert.Equal([1, 2, 3, 4, 5], scripts.Select(s => s.Version));
    }

    [Fact]
    public async Task MigrateAsync_AppliesEveryScript_WhenDatabaseIsNew()
    {
        using var cts = Bounded.Timeout();

        var result = await _migrator.MigrateAsync(SchemaVendor.Sqlite, ConnectionString, cts.Token).WaitAsync(cts.Token);

        Assert.Equal(0, result.VersionBefore);
        Assert.Equal(5, result.VersionAfter);
        Assert.Equal([1, 2, 3, 4, 5], result.Applied.Select(s => s.Version));
        await using var connection = new SqliteConnection(ConnectionString);
        await connection.OpenAsync(cts.Token);
        Assert.Equal("wal", await ScalarAsync<string>(connection, "PRAGMA journal_mode;", cts.Token));
        Assert.Equal(2L, await ScalarAsync<long>(connection, "PRAGMA synchronous;", cts.Token)); // FULL: a commit survives a crash
        Assert.Equal(5L, await ScalarAsync<long>(connection, "SELECT COUNT(*) FROM scheduler_schema_version;", cts.Token));
        Assert.Equal(11L, await ScalarAsync<long>(connection, "SELECT COUNT(*) FROM OrleansQuery;", cts.Token));
        Assert.Equal(0L, await ScalarAsync<long>(connection, "SELECT COUNT(*) FROM scheduler_jobs;", cts.Token));
    }

    [Fact]
    public async Task MigrateAsync_DoesNothing_WhenRunASecondTime()
    {
        using var cts = Bounded.Timeout();
        await _migrator.MigrateAsync(SchemaVendor.Sqlite, ConnectionString, cts.Token).WaitAsync(cts.Token);

        var second = await _migrator.MigrateAsync(SchemaVendor.Sqlite, ConnectionString, cts.Token).WaitAsync(cts.Token);

        Assert.Equal(5, second.VersionBefore);
        Assert.Equal(5, second.VersionAfter);
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
            command.CommandText = "INSERT INTO scheduler_schema_version (version, script, applied_at) VALUES (7, 'sql/sqlite/0007_future.sql', 0);";
            await command.ExecuteNonQueryAsync(cts.Token);
        }

        var error = await Assert.ThrowsAsync<SchemaVersionException>(
            () => _migrator.MigrateAsync(SchemaVendor.Sqlite, ConnectionString, cts.Token).WaitAsync(cts.Token));

        Assert.Contains("version 7", error.Message);
        Assert.Contains("up to 5", error.Message);
        Assert.Contains("silo is older than the database", error.Message);
    }

    private static async Task<T> ScalarAsync<T>(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (T)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}
