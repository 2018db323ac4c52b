using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Scheduler.Tests.Infrastructure;

/// <summary>
/// A real redis-server for tests (from the Debian package): 127.0.0.1 only, a free port, no persistence
/// (<c>--save '' --appendonly no</c>), working directory in a temp dir. Killed and removed on dispose.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private RedisServer(Process process, string directory, int port)
    {
        _process = process;
        Directory = directory;
        Port = port;
    }

    public string Directory { get; }

    public int Port { get; }

    /// <summary>StackExchange.Redis configuration string for this server.</summary>
    public string ConnectionString => $"127.0.0.1:{Port},abortConnect=false";

    /// <param name="port">A fixed port (e.g. one a silo was already told to use); default: a free one.</param>
    public static async Task<RedisServer> StartAsync(CancellationToken cancellationToken = default, int? port = null)
    {
        var executable = FindExecutable();
        var directory = Path.Combine(Path.GetTempPath(), "scheduler-redis-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(directory);
        for (var attempt = 1; ; attempt++)
        {
            var listenPort = port ?? ServerProcess.FreeLoopbackPort();
            var info = new ProcessStartInfo(executable)
            {
                WorkingDirectory = directory,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in new[] { "--port", listenPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                         "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory,
                         "--daemonize", "no", "--protected-mode", "yes", "--logfile", "" })
                info.ArgumentList.Add(argument);

            var process = Process.Start(info) ?? throw new InvalidOperationException("could not start redis-server");
            var server = new RedisServer(process, directory, listenPort);
            process.OutputDataReceived += (_, e) => server.Append(e.Data);
            process.ErrorDataReceived += (_, e) => server.Append(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            try
            {
                await server.WaitUntilReadyAsync(cancellationToken);
                return server;
            }
            catch (InvalidOperationException) when (attempt < 3 && port is null)
            {
                // Most likely the port was taken between probing and binding.
                await server.DisposeAsync(removeDirectory: false);
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }
    }

    public ValueTask DisposeAsync() => DisposeAsync(removeDirectory: true);

    private async ValueTask DisposeAsync(bool removeDirectory)
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        _process.Dispose();
        if (removeDirectory)
        {
            try
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
            catch (IOException)
            {
                // Best effort.
            }
        }
    }

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (_output)
            _output.AppendLine(line);
    }

    private async Task WaitUntilReadyAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            if (_process.HasExited)
            {
                string output;
                lock (_output)
                    output = _output.ToString();
                throw new InvalidOperationException($"redis-server exited with {_process.ExitCode}:\n{output}");
            }
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", Port, cancellationToken);
                var stream = client.GetStream();
                await stream.WriteAsync("PING\r\n"u8.ToArray(), cancellationToken);
                var buffer = new byte[64];
                var read = await stream.ReadAsync(buffer, cancellationToken);
                if (Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal))
                    return;
            }
            catch (SocketException)
            {
                // Not listening yet.
            }
            catch (IOException)
            {
                // Still loading.
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"redis-server did not answer PING on 127.0.0.1:{Port} within 30 s");
            await Task.Delay(50, cancellationToken);
        }
    }

    private static string FindExecutable()
    {
        foreach (var candidate in new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" })
        {
            if (File.Exists(candidate))
                return candidate;
        }
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, "redis-server");
            if (File.Exists(candidate))
                return candidate;
        }
        throw new InvalidOperationException("redis-server not found: install the 'redis-server' package (scripts/test.sh does so).");
    }
}
