using Scheduler.Client;

namespace Scheduler.Cli.Commands;

/// <summary>Waiting for a job's final state and turning it into an exit code (0 only for Succeeded).</summary>
internal static class Waiting
{
    /// <summary>"No limit": long enough never to matter, short enough not to overflow a deadline.</summary>
    public static readonly TimeSpan Forever = TimeSpan.FromDays(3650);

    public static async Task<int> WaitAndReportAsync(ISchedulerClient client, JobId id, TimeSpan timeout, CliContext cli,
        bool json, Func<JobStatus, object>? jsonShape, CancellationToken cancellationToken)
    {
        var status = await client.WaitForFinalAsync(id, timeout, cancellationToken)
            ?? throw new CommandFailedException($"job {id} not found");
        if (json)
            Output.WriteJson(cli.Out, jsonShape is null ? status : jsonShape(status));
        else
            Output.WriteStatus(cli.Out, status);
        if (!status.State.IsFinal())
            throw new CommandFailedException($"job {id} is still {status.State} after waiting {Duration.Format(timeout)}");
        return status.State == JobState.Succeeded
            ? ExitCodes.Ok
            : throw new CommandFailedException($"job {id} {Ended(status.State.ToString(), status.LastError)}");
    }

    /// <summary>"failed: why", or the reason alone when it already starts with the state ("cancelled: by alice").</summary>
    public static string Ended(string state, string? reason)
    {
        var word = state.ToLowerInvariant();
        return reason is null ? word
            : reason.StartsWith(word, StringComparison.OrdinalIgnoreCase) ? reason
            : $"{word}: {reason}";
    }
}
