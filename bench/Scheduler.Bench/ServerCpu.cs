using Npgsql;

namespace Scheduler.Bench;

/// <summary>
/// The CPU time a local PostgreSQL server has spent (its postmaster and every backend, from /proc on Linux), so a
/// figure per job covers the database's share as well as the bench process's. Null where it cannot be read.
/// </summary>
public sealed class ServerCpu
{
    private readonly int _postmaster;
    private static readonly double TicksPerSecond = 100; // USER_HZ on Linux

    private ServerCpu(int postmaster) => _postmaster = postmaster;

    /// <summary>The server behind <paramref name="connectionString"/>, when it runs on this machine; else null.</summary>
    public static async Task<ServerCpu?> FindAsync(string? connectionString, CancellationToken ct)
    {
        if (connectionString is null || !OperatingSystem.IsLinux())
            return null;
        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync(ct);
            await using var command = new NpgsqlCommand("SELECT pg_backend_pid()", connection);
            var backend = (int)(await command.ExecuteScalarAsync(ct))!;
            return Stat(backend) is { } stat ? new ServerCpu(stat.Parent) : null;
        }
        catch (Exception e) when (e is NpgsqlException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Seconds of CPU the server has used so far (exited backends count through the postmaster's children's times).</summary>
    public double Seconds()
    {
        long ticks = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || Stat(pid) is not { } stat)
                continue;
            if (pid == _postmaster)
                ticks += stat.Own + stat.Children;
            else if (stat.Parent == _postmaster)
                ticks += stat.Own;
        }
        return ticks / TicksPerSecond;
    }

    private static (int Parent, long Own, long Children)? Stat(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid}/stat");
            // "pid (comm) state ppid ...": the command may hold spaces, so fields count from the last ')'.
            var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            return (int.Parse(fields[1]), long.Parse(fields[11]) + long.Parse(fields[12]), long.Parse(fields[13]) + long.Parse(fields[14]));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}
