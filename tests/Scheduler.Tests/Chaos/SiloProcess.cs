using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Scheduler.Tests.Chaos;

/// <summary>
/// One silo as a separate OS process: <c>dotnet Scheduler.Silo.dll</c> from the test's output directory, configured
/// only through environment variables. Each start writes stdout and stderr to a log file of its own in
/// <see cref="LogDirectory"/>. A restart reuses the same settings (ports, ids, storage).
/// </summary>
internal sealed class SiloProcess : IAsyncDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    private readonly Dictionary<string, string> _environment;
    private readonly List<string> _logs = [];
    private Process? _process;
    private FileStream? _log;

    public SiloProcess(string name, string logDirectory, IReadOnlyDictionary<string, string> environment)
    {
        Name = name;
        LogDirectory = logDirectory;
        _environment = new Dictionary<string, string>(environment);
        var ports = Scheduler.Tests.Infrastructure.ServerProcess.FreeLoopbackPorts(3);
        HttpPort = ports[0];
        SiloPort = ports[1];
        GatewayPort = ports[2];
        _environment["Urls"] = $"http://127.0.0.1:{HttpPort}";
        _environment["Scheduler__SiloPort"] = SiloPort.ToString(CultureInfo.InvariantCulture);
        _environment["Scheduler__GatewayPort"] = GatewayPort.ToString(CultureInfo.InvariantCulture);
        _environment["Scheduler__AdvertisedAddress"] = "127.0.0.1";
        _environment["Scheduler__Dashboard"] = "false";
    }

    public static string SiloDll => Path.Combine(AppContext.BaseDirectory, "Scheduler.Silo.dll");

    public string Name { get; }

    public string LogDirectory { get; }

    public int HttpPort { get; }

    public int SiloPort { get; }

    public int GatewayPort { get; }

    public int? Pid => _process is { HasExited: false } p ? p.Id : null;

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>
    /// This silo's current (or last) run: its name and start number ("silo2.3"), also in the process's environment as
    /// <see cref="AttemptRecorder.SiloRunVariable"/>, so that the commands it runs can tell which run they belong to.
    /// </summary>
    public string? Run { get; private set; }

    /// <summary>Starts the process (a fresh log file per start); does not wait for it to be ready.</summary>
    public void Start()
    {
        if (IsRunning)
            throw new InvalidOperationException($"{Name} is already running");
        CloseLog();
        var path = Path.Combine(LogDirectory, $"{Name}.{_logs.Count + 1}.log");
        _logs.Add(path);
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(SiloDll);
        // Only what the test sets: no inherited ASP.NET/DOTNET environment beyond the basics.
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("Scheduler__", StringComparison.Ordinal) || k.StartsWith("ASPNETCORE_", StringComparison.Ordinal)).ToList())
            info.Environment.Remove(key);
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        info.Environment["Logging__Console__FormatterName"] = "simple";
        info.Environment["Logging__Console__FormatterOptions__SingleLine"] = "true";
        info.Environment["Logging__Console__FormatterOptions__TimestampFormat"] = "HH:mm:ss.fff ";
        foreach (var (key, value) in _environment)
            info.Environment[key] = value;
        Run = $"{Name}.{_logs.Count}";
        info.Environment[AttemptRecorder.SiloRunVariable] = Run;

        _log = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.ReadWrite);
        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {Name}");
        process.StandardInput.Close();
        var log = _log;
        void Write(string? line)
        {
            if (line is null)
                return;
            var bytes = Encoding.UTF8.GetBytes(line + "\n");
            lock (log)
            {
                try
                {
                    log.Write(bytes);
                    log.Flush();
                }
                catch (ObjectDisposedException)
                {
                }
            }
        }
        process.OutputDataReceived += (_, e) => Write(e.Data);
        process.ErrorDataReceived += (_, e) => Write(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
    }

    /// <summary>Waits until /health answers Healthy (the worker pool takes work); throws with the log tail otherwise.</summary>
    public async Task WaitHealthyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (_process is null || _process.HasExited)
                throw new InvalidOperationException($"{Name} exited ({_process?.ExitCode}) before it was healthy\n{Tail()}");
            try
            {
                var body = await Http.GetStringAsync($"http://127.0.0.1:{HttpPort}/health", cancellationToken);
                if (body.StartsWith("Healthy", StringComparison.Ordinal))
                    return;
            }
            catch (HttpRequestException)
            {
                // Not listening yet, or 503 while starting.
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // One slow answer on a busy machine.
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{Name} was not healthy within {timeout}\n{Tail()}");
            await Task.Delay(100, cancellationToken);
        }
    }

    public async Task StartAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        Start();
        await WaitHealthyAsync(timeout, cancellationToken);
    }

    /// <summary>kill -9: SIGKILL to the dotnet process only (what a crash or the OOM killer does).</summary>
    public void Kill()
    {
        if (_process is not { HasExited: false } process)
            return;
        process.Kill(entireProcessTree: false);
        process.WaitForExit(10_000);
    }

    /// <summary>SIGTERM (kill -TERM pid), then waits for the process to exit on its own.</summary>
    public async Task StopGracefullyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (_process is not { HasExited: false } process)
            return;
        using (var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false })!)
            await kill.WaitForExitAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken).WaitAsync(timeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Name} did not exit within {timeout} of SIGTERM\n{Tail()}");
        }
    }

    /// <summary>The last lines of every log this silo wrote (each start has its own).</summary>
    public string Tail(int lines = 60)
    {
        var text = new StringBuilder();
        foreach (var path in _logs)
        {
            text.AppendLine($"--- {path} (last {lines} lines) ---");
            try
            {
                using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                using var reader = new StreamReader(stream);
                var all = reader.ReadToEnd().Split('\n');
                foreach (var line in all.TakeLast(lines))
                    text.AppendLine(line);
            }
            catch (IOException e)
            {
                text.AppendLine($"(unreadable: {e.Message})");
            }
        }
        return text.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { } process)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
                }
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException)
            {
                // Already gone, or the OS is slow to reap it.
            }
            process.Dispose();
        }
        CloseLog();
    }

    private void CloseLog()
    {
        if (_log is { } log)
        {
            lock (log)
                log.Dispose();
            _log = null;
        }
    }

}
