using Npgsql;
using Scheduler.Hosting;
using Scheduler.Hosting.Storage;
using Scheduler.Storage;
using Scheduler.Tests.Storage;

namespace Scheduler.Tests.Postgres;

/// <summary>The migrator on PostgreSQL, each test on a database of its own.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresSchemaMigratorTests(PostgresServerFixture fixture)
{
    private readonly SchemaMigrator _migrator = new();

    [Fact]
    public void GetScripts_ListsEmbeddedPostgresScriptsInOrder_WhenAsked()
    {
        var scripts = _migrator.GetScripts(SchemaVendor.PostgreSql);

        Assert.Equal(["sql/postgresql/0001_orleans.sql", "sql/postgresql/0002_scheduler.sql", "sql/postgresql/0003_history.sql", "sql/postgresql/0004_job_state.sql", "sql/postgresql/0005_workflows.sql", "sql/postgresql/0006_queue_order.sql", "sql/postgresql/0007_due_time.sql", "sql/postgresql/0008_schedules.sql", "sql/postgresql/0009_retention.sql", "sql/postgresql/0010_flow_keys.sql", "sql/postgresql/0011_access.sql", "sql/postgresql/0012_webhooks.sql", "sql/postgresql/0013_job_listing.sql", "sql/postgresql/0014_open_rows.sql", "sql/postgresql/0015_history_key.sql"], scripts.Select(s => s.ResourceName));
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15], scripts.Select(s => s.Version));
    }

    [Fact]
    public async Task MigrateAsync_AppliesEveryScript_WhenDatabaseIsNew()
    {
        using var cts = Bounded.Timeout(60);
        var cs = await fixture.Server.CreateDatabaseAsync("migrate", cts.Token);

        var result = await _migrator.MigrateAsync(SchemaVendor.PostgreSql, cs, cts.Token).WaitAsync(cts.Token);

        Assert.Equal(0, result.VersionBefore);
        Assert.Equal(15, result.VersionAfter);
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15], result.Applied.Select(s => s.Version));
        Assert.Equal(15L, await ScalarAsync(cs, "SELECT COUNT(*) FROM scheduler_schema_version", cts.Token));
        Assert.Equal(11L, await ScalarAsync(cs, "SELECT COUNT(*) FROM OrleansQuery", cts.Token));
        Assert.Equal(0L, await ScalarAsync(cs, "SELECT COUNT(*) FROM scheduler_jobs", cts.Token));
        Assert.Equal(0L, await ScalarAsync(cs, "SELECT COUNT(*) FROM scheduler_job_logs", cts.Token));
    }

    [Fact]
    public async Task MigrateAsync_DoesNothing_WhenRunASecondTime()
    {
        using var cts = Bounded.Timeout(60);
        var cs = await fixture.Server.CreateDatabaseAsync("migrate", cts.Token);
        await _migrator.MigrateAsync(SchemaVendor.PostgreSql, cs, cts.Token).WaitAsync(cts.Token);

        var second = await _migrator.MigrateAsync(SchemaVendor.PostgreSql, cs, cts.Token).WaitAsync(cts.Token);

        Assert.Equal((15, 15), (second.VersionBefore, second.VersionAfter));
        Assert.Empty(second.Applied);
        Assert.Equal(15L, await ScalarAsync(cs, "SELECT COUNT(*) FROM scheduler_schema_version", cts.Token));
    }

    [Fact]
    public async Task Scripts_AreIdempotent_WhenRunAgainBeyondTheVersionTable()
    {
        using var cts = Bounded.Timeout(60);
        var cs = await fixture.Server.CreateDatabaseAsync("migrate", cts.Token);
        await _migrator.MigrateAsync(SchemaVendor.PostgreSql, cs, cts.Token).WaitAsync(cts.Token);

        foreach (var script in _migrator.GetScripts(SchemaVendor.PostgreSql))
        {
            using var stream = typeof(SchemaMigrator).Assembly.GetManifestResourceStream(script.ResourceName)!;
            using var reader = new StreamReader(stream);
            await ExecuteAsync(cs, await reader.ReadToEndAsync(cts.Token), cts.Token);
        }

        Assert.Equal(11L, await ScalarAsync(cs, "SELECT COUNT(*) FROM OrleansQuery", cts.Token));
    }

    [Fact]
    public async Task MigrateAsync_RefusesWithBothVersions_WhenDatabaseIsNewerThanSilo()
    {
        using var cts = Bounded.Timeout(60);
        var cs = await fixture.Server.CreateDatabaseAsync("migrate", cts.Token);
        await _migrator.MigrateAsync(SchemaVendor.PostgreSql, cs, cts.Token).WaitAsync(cts.Token);
        await ExecuteAsync(cs, "INSERT INTO scheduler_schema_version (version, script, applied_at) VALUES (16, 'sql/postgresql/0016_future.sql', 0)", cts.Token);

        var error = await Assert.ThrowsAsync<SchemaVersionException>(
            () => _migrator.MigrateAsync(SchemaVendor.PostgreSql, cs, cts.Token).WaitAsync(cts.Token));

        Assert.Contains("version 16", error.Message);
        Assert.Contains("up to 15", error.Message);
        Assert.Contains("silo is older than the database", error.Message);
    }

    [Fact]
    public async Task MigrateAsync_AppliesEachScriptOnce_WhenSeveralMigratorsStartTogether()
    {
        using var cts = Bounded.Timeout(60);
        var cs = await fixture.Server.CreateDatabaseAsync("migrate", cts.Token);
        using var start = new ManualResetEventSlim();

        // Several "silos" at once, each with a data source (pool) of its own.
        var runs = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            start.Wait(cts.Token);
            return await new SchemaMigrator().MigrateAsync(SchemaVendor.PostgreSql, cs, cts.Token);
        }, cts.Token)).ToArray();
        start.Set();
        var results = await Task.WhenAll(runs).WaitAsync(cts.Token);

        Assert.All(results, r => Assert.Equal(15, r.VersionAfter));
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15], results.SelectMany(r => r.Applied).Select(s => s.Version).Order());
        Assert.Equal(15L, await ScalarAsync(cs, "SELECT COUNT(*) FROM scheduler_schema_version", cts.Token));
    }

    [Fact]
    public async Task MigrateAsync_FromVersion5_KeepsOpenJobsQueuedByTheirCreationWithNoSizeHint()
    {
        using var cts = Bounded.Timeout(60);
        var cs = await fixture.Server.CreateDatabaseAsync("migrate", cts.Token);
        var id = JobId.New();
        var created = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
        // The database as a silo of schema version 5 left it, with an open job in it.
        await ExecuteAsync(cs, "CREATE TABLE scheduler_schema_version (version integer NOT NULL PRIMARY KEY, script varchar(200) NOT NULL, applied_at bigint NOT NULL)", cts.Token);
        foreach (var script in _migrator.GetScripts(SchemaVendor.PostgreSql).Where(s => s.Version <= 5))
        {
            using var stream = typeof(SchemaMigrator).Assembly.GetManifestResourceStream(script.ResourceName)!;
            using var reader = new StreamReader(stream);
            await ExecuteAsync(cs, await reader.ReadToEndAsync(cts.Token), cts.Token);
            await ExecuteAsync(cs, $"INSERT INTO scheduler_schema_version VALUES ({script.Version}, '{script.ResourceName}', 0)", cts.Token);
        }
        await ExecuteAsync(cs, $"""
            INSERT INTO scheduler_jobs
                (service_id, job_id, queue, shard, priority, tenant, handler, state, attempt, created_at, updated_at, version, data)
            VALUES ('svc', '{id}', 'default', 0, 60, 't1', 'command', {(int)JobState.Queued}, 0, {created.UtcTicks}, {created.UtcTicks}, 1, NULL)
            """, cts.Token);

        var result = await _migrator.MigrateAsync(SchemaVendor.PostgreSql, cs, cts.Token).WaitAsync(cts.Token);

        Assert.Equal([6, 7, 8, 9, 10, 11, 12, 13, 14, 15], result.Applied.Select(s => s.Version));
        await using var dataSource = NpgsqlDataSource.Create(cs);
        var open = await new PostgresJobStore(dataSource, "svc").LoadOpenAsync("default", 0, DateTimeOffset.MaxValue, cts.Token).WaitAsync(cts.Token);
        Assert.Equal(new QueueEntry(id, 60, created.UtcTicks, SizeHint: 0, Tenant: "t1"), Assert.Single(open));
    }

    [Fact]
    public void CompleteConnectionString_AddsPoolSizeAndName_OnlyWhenTheStringNamesNone()
    {
        var completed = new NpgsqlConnectionStringBuilder(PostgresSchedulerStorage.CompleteConnectionString("Host=db;Database=s;Username=u;Password=p"));
        var kept = new NpgsqlConnectionStringBuilder(PostgresSchedulerStorage.CompleteConnectionString("Host=db;Maximum Pool Size=8;Application Name=mine"));
        var alias = new NpgsqlConnectionStringBuilder(PostgresSchedulerStorage.CompleteConnectionString("Host=db;MaxPoolSize=100"));

        Assert.Equal(PostgresSchedulerStorage.DefaultMaxPoolSize, completed.MaxPoolSize);
        Assert.Equal("scheduler", completed.ApplicationName);
        Assert.Equal("p", completed.Password);
        Assert.Equal((8, "mine"), (kept.MaxPoolSize, kept.ApplicationName));
        Assert.Equal(100, alias.MaxPoolSize);
        Assert.ThrowsAny<ArgumentException>(() => PostgresSchedulerStorage.CompleteConnectionString("Host=db;NoSuchSetting=1"));
    }

    [Fact]
    public void JobStoreConnectionString_PreparesAndPlansPerExecution_UnlessTheStringSaysOtherwise()
    {
        var plain = new NpgsqlConnectionStringBuilder(PostgresSchedulerStorage.JobStoreConnectionString("Host=db;Password=p"));
        var theirs = new NpgsqlConnectionStringBuilder(PostgresSchedulerStorage.JobStoreConnectionString("Host=db;Max Auto Prepare=0;Options=-c statement_timeout=5000"));
        var theirMode = new NpgsqlConnectionStringBuilder(PostgresSchedulerStorage.JobStoreConnectionString("Host=db;Options=-c plan_cache_mode=auto"));

        Assert.Equal((PostgresSchedulerStorage.DefaultMaxAutoPrepare, "-c plan_cache_mode=force_custom_plan", true, "p"),
            (plain.MaxAutoPrepare, plain.Options, plain.NoResetOnClose, plain.Password));
        Assert.Equal((0, "-c statement_timeout=5000 -c plan_cache_mode=force_custom_plan"), (theirs.MaxAutoPrepare, theirs.Options));
        Assert.Equal("-c plan_cache_mode=auto", theirMode.Options);
    }

    [Fact]
    public async Task JobStoreConnections_PlanEveryExecution()
    {
        using var cts = Bounded.Timeout(60);
        var cs = await fixture.Server.CreateDatabaseAsync("plans", cts.Token);
        await using var dataSource = NpgsqlDataSource.Create(PostgresSchedulerStorage.JobStoreConnectionString(cs));
        await using var command = dataSource.CreateCommand("SHOW plan_cache_mode");

        Assert.Equal("force_custom_plan", await command.ExecuteScalarAsync(cts.Token));
    }

    private static async Task<long> ScalarAsync(string cs, string sql, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(cs);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task ExecuteAsync(string cs, string sql, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(cs);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
