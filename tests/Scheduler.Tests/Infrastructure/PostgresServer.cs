using Npgsql;

namespace Scheduler.Tests.Infrastructure;

/// <summary>
/// A real PostgreSQL server for tests, from the Debian package's binaries (<c>/usr/lib/postgresql/*/bin</c>):
/// a fresh cluster in a temp directory, listening on 127.0.0.1 only on a free port, its unix socket inside the
/// temp directory, fsync and synchronous_commit on (the defaults: what production runs). Removed on dispose.
/// PostgreSQL refuses to run as root: under root the cluster is owned and run by an unprivileged user
/// (<c>postgres</c> when it exists, else <c>scheduler-test</c>, created with useradd) through runuser.
/// One server per test process: <see cref="AcquireAsync"/> starts it on first use and stops it when the last
/// lease is returned.
/// </summary>
public sealed class PostgresServer
{
    public const string SuperUser = "scheduler";
    public const string UnprivilegedUser = "scheduler-test";

    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static PostgresServer? _shared;
    private static int _leases;

    private readonly string _bin;
    private readonly string? _runAs;

    private PostgresServer(string bin, string directory, string? runAs)
    {
        _bin = bin;
        Directory = directory;
        _runAs = runAs;
    }

    /// <summary>The temp directory holding data, socket and log.</summary>
    public string Directory { get; }

    public string DataDirectory => Path.Combine(Directory, "data");

    public string SocketDirectory => Path.Combine(Directory, "sock");

    public string LogFile => Path.Combine(Directory, "server.log");

    public int Port { get; private set; }

    /// <summary>The OS user the server runs as (null: the current user).</summary>
    public string? RunAs => _runAs;

    /// <summary>Connection string for a database of this server (TCP on 127.0.0.1; trust authentication).</summary>
    public string ConnectionString(string database = "postgres") => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = SuperUser,
        Database = database,
        Timeout = 15,
        CommandTimeout = 60,
    }.ConnectionString;

    /// <summary>A lease on the process-wide server; the server starts on the first lease and stops after the last.</summary>
    public static async Task<Lease> AcquireAsync(CancellationToken cancellationToken = default)
    {
        await Gate.WaitAsync(cancellationToken);
        try
        {
            if (_shared is null)
                _shared = await StartAsync(cancellationToken);
            _leases++;
            return new Lease(_shared);
        }
        finally
        {
            Gate.Release();
        }
    }

    private static async Task ReleaseAsync()
    {
        await Gate.WaitAsync();
        try
        {
            if (--_leases > 0 || _shared is null)
                return;
            var server = _shared;
            _shared = null;
            await server.StopAsync();
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix, CancellationToken cancellationToken = default)
    {
        var name = $"{prefix}_{Guid.NewGuid():N}".ToLowerInvariant();
        await using var connection = new NpgsqlConnection(ConnectionString());
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
        return ConnectionString(name);
    }

    /// <summary>
    /// A server of its own (not the shared one), for a test that stops or restarts it: other tests keep theirs.
    /// Stop it with <see cref="DisposeDedicatedAsync"/>.
    /// </summary>
    public static Task<PostgresServer> StartDedicatedAsync(CancellationToken cancellationToken = default) => StartAsync(cancellationToken);

    /// <summary>Stops a server from <see cref="StartDedicatedAsync"/> and removes its files.</summary>
    public Task DisposeDedicatedAsync() => StopAsync();

    /// <summary>
    /// Restarts the server on the same port: a fast shutdown (clients are disconnected, open transactions roll
    /// back), <paramref name="downtime"/> with no server, then a start. Only for a dedicated server.
    /// </summary>
    public async Task RestartAsync(TimeSpan downtime, CancellationToken cancellationToken = default)
    {
        await RunAsync("pg_ctl", ["-D", DataDirectory, "-m", "fast", "-w", "-t", "30", "stop"], TimeSpan.FromSeconds(45));
        if (downtime > TimeSpan.Zero)
            await Task.Delay(downtime, cancellationToken);
        await RunAsync("pg_ctl", ["-D", DataDirectory, "-l", LogFile, "-w", "-t", "60", "start"], TimeSpan.FromSeconds(90));
    }

    private static async Task<PostgresServer> StartAsync(CancellationToken cancellationToken)
    {
        var bin = FindBinaries();
        var runAs = ServerProcess.IsRoot ? await EnsureUnprivilegedUserAsync() : null;
        // Under /tmp, not a possibly private TMPDIR: the unprivileged user must reach it, and the socket path
        // must stay short (107 bytes).
        var root = runAs is null ? Path.GetTempPath() : "/tmp";
        var directory = Path.Combine(root, "scheduler-pg-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(directory);
        var server = new PostgresServer(bin, directory, runAs);
        try
        {
            System.IO.Directory.CreateDirectory(server.SocketDirectory);
            if (runAs is not null)
                await ServerProcess.RunAsync("chown", ["-R", $"{runAs}:", directory], directory, TimeSpan.FromSeconds(30));
            // --no-sync only skips initdb's own final flush of the template files (the directory is thrown away
            // afterwards); the server itself runs with fsync on.
            await server.RunAsync("initdb", ["-D", server.DataDirectory, "-U", SuperUser, "--auth=trust",
                "--encoding=UTF8", "--locale=C", "--no-sync"], TimeSpan.FromMinutes(2));
            await server.StartServerAsync(cancellationToken);
            return server;
        }
        catch
        {
            await server.StopAsync();
            throw;
        }
    }

    private async Task StartServerAsync(CancellationToken cancellationToken)
    {
        // A free port can be taken between probing and binding: try a few.
        for (var attempt = 1; ; attempt++)
        {
            Port = ServerProcess.FreeLoopbackPort();
            var settings = $"""

                # scheduler tests
                listen_addresses = '127.0.0.1'
                port = {Port}
                unix_socket_directories = '{SocketDirectory}'
                max_connections = 300
                fsync = on
                synchronous_commit = on
                """;
            await File.WriteAllTextAsync(Path.Combine(DataDirectory, "postgresql.auto.conf"),
                "# written by the Scheduler test fixture" + settings + "\n", cancellationToken);
            try
            {
                await RunAsync("pg_ctl", ["-D", DataDirectory, "-l", LogFile, "-w", "-t", "60", "start"], TimeSpan.FromSeconds(90));
                break;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                // Most likely the port was taken; the log says.
            }
            catch (InvalidOperationException e)
            {
                var log = File.Exists(LogFile) ? await File.ReadAllTextAsync(LogFile, cancellationToken) : "(no log)";
                throw new InvalidOperationException($"PostgreSQL did not start; server log:\n{log}", e);
            }
        }
    }

    private async Task StopAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (File.Exists(Path.Combine(DataDirectory, "postmaster.pid")))
        {
            try
            {
                await RunAsync("pg_ctl", ["-D", DataDirectory, "-m", "fast", "-w", "-t", "30", "stop"], TimeSpan.FromSeconds(45));
            }
            catch (Exception) when (File.Exists(Path.Combine(DataDirectory, "postmaster.pid")))
            {
                await RunAsync("pg_ctl", ["-D", DataDirectory, "-m", "immediate", "-w", "-t", "30", "stop"], TimeSpan.FromSeconds(45));
            }
        }
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: left to the OS temp cleanup.
        }
    }

    private Task<string> RunAsync(string tool, IEnumerable<string> arguments, TimeSpan timeout)
    {
        var path = Path.Combine(_bin, tool);
        return _runAs is null
            ? ServerProcess.RunAsync(path, arguments, Directory, timeout)
            : ServerProcess.RunAsync("runuser", ["-u", _runAs, "--", path, .. arguments], Directory, timeout);
    }

    private static string FindBinaries()
    {
        const string root = "/usr/lib/postgresql";
        var bin = System.IO.Directory.Exists(root)
            ? System.IO.Directory.GetDirectories(root)
                .Select(d => (Dir: Path.Combine(d, "bin"), Version: int.TryParse(Path.GetFileName(d), out var v) ? v : 0))
                .Where(d => File.Exists(Path.Combine(d.Dir, "initdb")) && File.Exists(Path.Combine(d.Dir, "pg_ctl")))
                .OrderByDescending(d => d.Version)
                .Select(d => d.Dir)
                .FirstOrDefault()
            : null;
        return bin ?? throw new InvalidOperationException(
            $"PostgreSQL server binaries not found under {root}/*/bin: install the 'postgresql' package (scripts/test.sh does so).");
    }

    private static async Task<string> EnsureUnprivilegedUserAsync()
    {
        foreach (var user in new[] { "postgres", UnprivilegedUser })
        {
            if (await UserExistsAsync(user))
                return user;
        }
        await ServerProcess.RunAsync("useradd", ["--system", "--no-create-home", "--home-dir", "/nonexistent",
            "--shell", "/usr/sbin/nologin", UnprivilegedUser], "/", TimeSpan.FromSeconds(30));
        return UnprivilegedUser;
    }

    private static async Task<bool> UserExistsAsync(string user)
    {
        try
        {
            await ServerProcess.RunAsync("id", ["-u", user], "/", TimeSpan.FromSeconds(10));
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>One holder's claim on the shared server.</summary>
    public sealed class Lease(PostgresServer server) : IAsyncDisposable
    {
        private int _disposed;

        public PostgresServer Server { get; } = server;

        public ValueTask DisposeAsync() =>
            Interlocked.Exchange(ref _disposed, 1) == 0 ? new ValueTask(ReleaseAsync()) : ValueTask.CompletedTask;
    }
}
