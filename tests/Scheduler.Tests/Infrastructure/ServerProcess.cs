using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Scheduler.Tests.Infrastructure;

/// <summary>Helpers for the real servers the tests start: free loopback ports, and short commands run to completion.</summary>
internal static class ServerProcess
{
    public static bool IsRoot => Environment.UserName == "root" || GetEuid() == 0;

    /// <summary>A TCP port free on 127.0.0.1 right now (the OS picks it; a server started soon after gets it).</summary>
    public static int FreeLoopbackPort() => FreeLoopbackPorts(1)[0];

    /// <summary>Ports the OS hands out on 127.0.0.1 now, all distinct (released again before use).</summary>
    public static int[] FreeLoopbackPorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        try
        {
            foreach (var listener in listeners)
                listener.Start();
            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            foreach (var listener in listeners)
                listener.Stop();
        }
    }

    /// <summary>Runs a command to completion and returns its output; throws with the output when it fails.</summary>
    public static async Task<string> RunAsync(string fileName, IEnumerable<string> arguments, string workingDirectory, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
            info.ArgumentList.Add(argument);
        info.Environment["LC_ALL"] = "C";

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {fileName}");
        process.StandardInput.Close();
        var output = new StringBuilder();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Describe(info)} did not finish within {timeout}");
        }
        output.Append(await stdout).Append(await stderr);
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{Describe(info)} exited with {process.ExitCode}:\n{output}");
        return output.ToString();
    }

    private static string Describe(ProcessStartInfo info) => $"'{info.FileName} {string.Join(' ', info.ArgumentList)}'";

    private static uint GetEuid()
    {
        try
        {
            return geteuid();
        }
        catch (EntryPointNotFoundException)
        {
            return uint.MaxValue;
        }
        catch (DllNotFoundException)
        {
            return uint.MaxValue;
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = false)]
    private static extern uint geteuid();
}
