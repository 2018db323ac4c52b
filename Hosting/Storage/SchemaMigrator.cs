using System.Data.Common;
using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Scheduler.Hosting.Storage;

/// <summary>The database vendors the schema scripts exist for (the folder names under <c>sql/</c>).</summary>
public static class SchemaVendor
{
    public const string Sqlite = "sqlite";
    public const string PostgreSql = "postgresql";
}

/// <summary>One versioned schema script, embedded in this library as <c>sql/&lt;vendor&gt;/NNNN_name.sql</c>.</summary>
public sealed record SchemaScript(int Version, string Name, string ResourceName);

/// <summary>What a migration run did.</summary>
public sealed record SchemaMigrationResult(int VersionBefore, int VersionAfter, IReadOnlyList<SchemaScript> Applied);

/// <summary>The database was written by a newer Scheduler than this silo: refusing to touch it.</summary>
public sealed class SchemaVersionException(string message) : InvalidOperationException(message);

/// <summary>
/// Brings a database's schema up to date from the scripts embedded in this assembly. Each pending script runs
/// in its own transaction together with the row recording its version in <c>scheduler_schema_version</c>, so a
/// failed script leaves the database at the previous version. A database recorded at a version newer than the
/// newest script known here is refused with <see cref="SchemaVersionException"/>.
/// </summary>
public sealed partial class SchemaMigrator
{
    public const string VersionTable = "scheduler_schema_version";

    private static readonly Regex ScriptName = new(@"^sql/(?<vendor>[a-z0-9]+)/(?<version>\d{4})_(?<name>[a-z0-9_]+)\.sql$", RegexOptions.CultureInvariant);

    private readonly ILogger _logger;
    private readonly Assembly _assembly;

    public SchemaMigrator(ILogger<SchemaMigrator>? logger = null)
        : this(typeof(SchemaMigrator).Assembly, logger)
    {
    }

    internal SchemaMigrator(Assembly scriptAssembly, ILogger<SchemaMigrator>? logger)
    {
        ArgumentNullException.ThrowIfNull(scriptAssembly);
        _assembly = scriptAssembly;
        _logger = logger ?? NullLogger<SchemaMigrator>.Instance;
    }

    /// <summary>The embedded scripts of a vendor, oldest first.</summary>
    public IReadOnlyList<SchemaScript> GetScripts(string vendor)
    {
        ArgumentException.ThrowIfNullOrEmpty(vendor);
        var scripts = new List<SchemaScript>();
        foreach (var resource in _assembly.GetManifestResourceNames())
        {
            var match = ScriptName.Match(resource);
            if (!match.Success || match.Groups["vendor"].Value != vendor)
                continue;
            scripts.Add(new SchemaScript(
                int.Parse(match.Groups["version"].Value, CultureInfo.InvariantCulture),
                match.Groups["name"].Value,
                resource));
        }
        scripts.Sort((a, b) => a.Version.CompareTo(b.Version));
        // Numbers are handed out to changes made side by side, so a branch may lack the ones between (a gap); it
        // still applies its scripts in order. Duplicates are refused.
        for (var i = 0; i < scripts.Count; i++)
        {
            if (scripts[i].Version < 1 || (i > 0 && scripts[i].Version == scripts[i - 1].Version))
                throw new InvalidOperationException($"Schema scripts for '{vendor}' must be numbered from 1 up without duplicates; found version {scripts[i].Version} at position {i + 1}.");
        }
        return scripts;
    }

    /// <summary>Migrates the database behind a connection string, creating the data source for the vendor.</summary>
    public async Task<SchemaMigrationResult> MigrateAsync(string vendor, string connectionString, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        await using var dataSource = CreateDataSource(vendor, connectionString);
        return await MigrateAsync(vendor, dataSource, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Applies every pending script of <paramref name="vendor"/> to the database of <paramref name="dataSource"/>.</summary>
    public async Task<SchemaMigrationResult> MigrateAsync(string vendor, DbDataSource dataSource, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        var scripts = GetScripts(vendor);
        if (scripts.Count == 0)
            throw new InvalidOperationException($"No schema scripts are embedded for vendor '{vendor}' (expected resources named sql/{vendor}/NNNN_name.sql).");
        var newestKnown = scripts[^1].Version;

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        if (vendor == SchemaVendor.Sqlite)
        {
            // Persistent in the file: readers no longer block the writer, and a commit is one append to the log.
            // synchronous stays at its default (FULL), so a committed transaction survives a crash.
            await ExecuteAsync(connection, null, "PRAGMA journal_mode=WAL;", cancellationToken).ConfigureAwait(false);
        }
        // In a transaction holding the migration lock: on PostgreSQL two silos creating the table at the same
        // moment would otherwise collide in the catalog (a unique violation, not "already exists").
        await using (var create = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false))
        {
            await LockAsync(vendor, connection, create, cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(connection, create, $"""
                CREATE TABLE IF NOT EXISTS {VersionTable}
                (
                    version    integer      NOT NULL PRIMARY KEY,
                    script     varchar(200) NOT NULL,
                    applied_at bigint       NOT NULL
                );
                """, cancellationToken).ConfigureAwait(false);
            await create.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        var before = await ReadVersionAsync(connection, null, cancellationToken).ConfigureAwait(false);
        ThrowIfNewer(before, newestKnown);

        var applied = new List<SchemaScript>();
        var current = before;
        foreach (var script in scripts)
        {
            if (script.Version <= current)
                continue;

            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await LockAsync(vendor, connection, transaction, cancellationToken).ConfigureAwait(false);
            // Re-read under the write lock: another process may have migrated meanwhile.
            current = await ReadVersionAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
            ThrowIfNewer(current, newestKnown);
            if (script.Version <= current)
            {
                await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }

            LogApplying(_logger, vendor, script.Version, script.Name);
            await ExecuteAsync(connection, transaction, ReadScript(script), cancellationToken).ConfigureAwait(false);
            await using (var record = connection.CreateCommand())
            {
                record.Transaction = transaction;
                record.CommandText = $"INSERT INTO {VersionTable} (version, script, applied_at) VALUES (@version, @script, @applied_at)";
                AddParameter(record, "version", script.Version);
                AddParameter(record, "script", script.ResourceName);
                AddParameter(record, "applied_at", DateTimeOffset.UtcNow.UtcTicks);
                await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            current = script.Version;
            applied.Add(script);
        }

        if (applied.Count == 0)
            LogUpToDate(_logger, vendor, current);
        else
            LogMigrated(_logger, vendor, before, current);
        return new SchemaMigrationResult(before, current, applied);
    }

    /// <summary>The provider's data source for a vendor's connection string.</summary>
    public static DbDataSource CreateDataSource(string vendor, string connectionString) => vendor switch
    {
        SchemaVendor.Sqlite => SqliteFactory.Instance.CreateDataSource(connectionString),
        SchemaVendor.PostgreSql => NpgsqlDataSource.Create(connectionString),
        _ => throw new ArgumentOutOfRangeException(nameof(vendor), vendor, $"Unknown database vendor; use '{SchemaVendor.Sqlite}' or '{SchemaVendor.PostgreSql}'."),
    };

    /// <summary>
    /// Serialises migrators working on the same database. PostgreSQL: a transaction-scoped advisory lock, held
    /// until the transaction ends (also when the connection breaks), so silos starting together migrate one after
    /// another and the later ones find the work done. SQLite needs nothing here: its first write in a transaction
    /// takes the database's write lock, and the version is re-read after that.
    /// </summary>
    private static async Task LockAsync(string vendor, DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        if (vendor != SchemaVendor.PostgreSql)
            return;
        await ExecuteAsync(connection, transaction, $"SELECT pg_advisory_xact_lock({PostgreSqlMigrationLockKey})", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The advisory lock key migrators take on PostgreSQL (the ASCII of "schedmig", as a bigint).</summary>
    public const long PostgreSqlMigrationLockKey = 0x73636865646D6967;

    private static void ThrowIfNewer(int recorded, int newestKnown)
    {
        if (recorded > newestKnown)
        {
            throw new SchemaVersionException(
                $"The database schema is at version {recorded}, but this silo only knows schema versions up to {newestKnown}: " +
                "the silo is older than the database. Run a Scheduler version that knows the newer schema; this one will not touch the database.");
        }
    }

    private string ReadScript(SchemaScript script)
    {
        using var stream = _assembly.GetManifestResourceStream(script.ResourceName)
            ?? throw new InvalidOperationException($"Embedded schema script '{script.ResourceName}' is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static async Task<int> ReadVersionAsync(DbConnection connection, DbTransaction? transaction, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT MAX(version) FROM {VersionTable}";
        var value = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return value is null or DBNull ? 0 : Convert.ToInt32(value, CultureInfo.InvariantCulture);
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static void AddParameter(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}
