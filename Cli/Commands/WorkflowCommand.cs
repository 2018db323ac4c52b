using System.CommandLine;
using Scheduler.Cli.Workflows;
using Scheduler.Client;

namespace Scheduler.Cli.Commands;

/// <summary>
/// <c>workflow submit &lt;file.json&gt; | status &lt;id&gt; | cancel &lt;id&gt; | pause &lt;id&gt; | resume &lt;id&gt; |
/// rerun &lt;id&gt; | add &lt;id&gt; &lt;file.json&gt;</c>
/// </summary>
internal static class WorkflowCommand
{
    public static Command Create(CliContext cli) => new("workflow",
        "Run graphs of jobs with dependencies (fan-out and fan-in) from a JSON file, and follow or steer them.\n" +
        "The file format is in docs/workflows.md; samples/fossology-pipeline.json is an example.")
    {
        Submit(cli), Status(cli), Cancel(cli), Simple(cli, "pause", "Stop releasing the workflow's jobs; jobs already queued or running go on."),
        Simple(cli, "resume", "Release the jobs that became ready while paused, and go on."),
        Simple(cli, "rerun", "Run the failed part again: failed, cancelled and skipped jobs (as new jobs), after their parents; succeeded jobs are kept."),
        Add(cli), Reschedule(cli), Priority(cli),
    };

    private static Argument<string> IdArgument() => new("workflow-id") { Description = "The workflow's id (a GUID, as printed by workflow submit)." };

    private static Argument<string> FileArgument(string description) => new("file") { Description = description };

    private static (Option<bool> Wait, Option<string> Timeout) WaitOptions(string timeoutName) =>
        (new Option<bool>("--wait", "-w") { Description = "Wait for the workflow's final state and print it; exit code 0 only if it succeeded." },
         new Option<string>(timeoutName) { Description = $"With --wait, give up waiting after this long (exit code 1): {Duration.Help}. Default: no limit.", HelpName = "duration" });

    private static TimeSpan? ReadWait(ParseResult parse, Option<bool> wait, Option<string> timeout)
    {
        var text = parse.GetValue(timeout);
        if (!parse.GetValue(wait))
            return text is null ? null : throw new UsageException($"{timeout.Name} needs --wait");
        return text is null ? Waiting.Forever : Duration.ParsePositive(timeout.Name, text);
    }

    private static Command Submit(CliContext cli)
    {
        var file = FileArgument("The workflow as JSON: settings and jobs with their dependencies.");
        var (wait, timeout) = WaitOptions("--wait-timeout");
        var at = DueTime.AtOption("the workflow's jobs");
        var inDelay = DueTime.InOption("the workflow's jobs");
        var submit = new Command("submit", "Submit a workflow from a JSON file and print its id. The whole graph is checked first; nothing is sent if any of it is wrong.")
        {
            file, wait, timeout, at, inDelay,
        };
        cli.SetAction(submit, async (parse, connection, cancellationToken) =>
        {
            var due = DueTime.Read(parse.GetValue(at), parse.GetValue(inDelay), DateTimeOffset.UtcNow);
            var definition = await WorkflowFile.ReadDefinitionAsync(parse.GetValue(file)!, cancellationToken);
            if (due is not null)
                definition = definition with { NotBefore = due };
            var errors = WorkflowValidation.Check(definition, JobRequest.DefaultMaxPayloadBytes);
            if (!errors.IsEmpty)
                throw new UsageException($"workflow file '{parse.GetValue(file)}' is not a valid workflow: " + string.Join("; ", errors.Select(e => e.Message)));
            var waitFor = ReadWait(parse, wait, timeout);
            return async (client, ct) =>
            {
                var result = await client.SubmitWorkflowAsync(definition with { Id = WorkflowId.New() }, ct);
                if (!connection.Json)
                    cli.Out.WriteLine(result.Id);
                if (waitFor is null)
                {
                    if (connection.Json)
                        Output.WriteJson(cli.Out, result, WorkflowOutput.Json);
                    return ExitCodes.Ok;
                }
                if (!connection.Json)
                    cli.Out.WriteLine();
                return await WaitAndReportAsync(client, result.Id, waitFor.Value, cli, connection.Json, ct);
            };
        });
        return submit;
    }

    private static Command Status(CliContext cli)
    {
        var id = IdArgument();
        var (wait, timeout) = WaitOptions("--timeout");
        var status = new Command("status", "Show a workflow: its state, counts by job state, and each job (indented under its parents) with its state and times.")
        {
            id, wait, timeout,
        };
        cli.SetAction(status, (parse, connection, _) =>
        {
            var workflowId = WorkflowOutput.ParseId(parse.GetValue(id));
            var waitFor = ReadWait(parse, wait, timeout);
            return Task.FromResult<ClientCommand>(async (client, ct) =>
            {
                if (waitFor is { } limit)
                    return await WaitAndReportAsync(client, workflowId, limit, cli, connection.Json, ct);
                var workflow = await client.GetWorkflowAsync(workflowId, ct) ?? throw new CommandFailedException($"workflow {workflowId} not found");
                Write(cli, connection.Json, workflow);
                return ExitCodes.Ok;
            });
        });
        return status;
    }

    private static Command Cancel(CliContext cli)
    {
        var id = IdArgument();
        var reason = new Option<string>("--reason") { Description = "Why; recorded as the workflow's reason and each cancelled job's last error.", HelpName = "text" };
        var cancel = new Command("cancel", "Cancel a workflow: its waiting and queued jobs are cancelled, and its running jobs asked to stop. Exit code 1 if it has already finished.") { id, reason };
        cli.SetAction(cancel, (parse, connection, _) =>
        {
            var workflowId = WorkflowOutput.ParseId(parse.GetValue(id));
            var why = parse.GetValue(reason);
            if (why is { Length: > CancelCommand.MaxReasonLength })
                throw new UsageException($"--reason is {why.Length} characters; the limit is {CancelCommand.MaxReasonLength}");
            return Task.FromResult<ClientCommand>(async (client, ct) =>
            {
                var state = await client.CancelWorkflowAsync(workflowId, why, ct);
                Report(cli, connection.Json, workflowId, state, $"cancelled {workflowId}; its running jobs are told to stop");
                return ExitCodes.Ok;
            });
        });
        return cancel;
    }

    private static Command Simple(CliContext cli, string name, string description)
    {
        var id = IdArgument();
        var command = new Command(name, description + " Exit code 1 if the workflow is not in a state that allows it.") { id };
        cli.SetAction(command, (parse, connection, _) =>
        {
            var workflowId = WorkflowOutput.ParseId(parse.GetValue(id));
            return Task.FromResult<ClientCommand>(async (client, ct) =>
            {
                switch (name)
                {
                    case "pause":
                        Report(cli, connection.Json, workflowId, await client.PauseWorkflowAsync(workflowId, ct), $"paused {workflowId}");
                        break;
                    case "resume":
                        Report(cli, connection.Json, workflowId, await client.ResumeWorkflowAsync(workflowId, ct), $"resumed {workflowId}");
                        break;
                    default:
                        var count = await client.RerunFailedAsync(workflowId, ct);
                        if (connection.Json)
                            Output.WriteJson(cli.Out, new { Id = workflowId.ToString(), Rerun = count }, WorkflowOutput.Json);
                        else
                            cli.Out.WriteLine($"running {count} job{(count == 1 ? "" : "s")} of {workflowId} again");
                        break;
                }
                return ExitCodes.Ok;
            });
        });
        return command;
    }

    private static Command Add(CliContext cli)
    {
        var id = IdArgument();
        var file = FileArgument("The jobs to add, as JSON: { \"jobs\": [...] }, in the format of workflow submit; they may depend on the workflow's jobs.");
        var add = new Command("add", "Add jobs to a running, paused or succeeded workflow. A job whose parents have already succeeded is queued at once.") { id, file };
        cli.SetAction(add, async (parse, connection, cancellationToken) =>
        {
            var workflowId = WorkflowOutput.ParseId(parse.GetValue(id));
            var jobs = await WorkflowFile.ReadJobsAsync(parse.GetValue(file)!, cancellationToken);
            return async (client, ct) =>
            {
                var state = await client.AddToWorkflowAsync(workflowId, jobs, ct);
                Report(cli, connection.Json, workflowId, state, $"added {jobs.Length} job{(jobs.Length == 1 ? "" : "s")} to {workflowId}");
                return ExitCodes.Ok;
            };
        });
        return add;
    }

    private static Command Reschedule(CliContext cli)
    {
        var id = IdArgument();
        var (at, inDelay, now) = RescheduleCommand.Options("the workflow's jobs that have not started");
        var reschedule = new Command("reschedule",
            "Move a delayed workflow: its jobs that have not started, and those it releases later, start no earlier than the new time. " +
            "Exit code 1 if it has already finished.") { id, at, inDelay, now };
        cli.SetAction(reschedule, (parse, connection, _) =>
        {
            var workflowId = WorkflowOutput.ParseId(parse.GetValue(id));
            var due = RescheduleCommand.Read(parse, at, inDelay, now);
            return Task.FromResult<ClientCommand>(async (client, ct) =>
            {
                var moved = await client.RescheduleWorkflowAsync(workflowId, due, ct);
                if (connection.Json)
                    Output.WriteJson(cli.Out, new { Id = workflowId.ToString(), NotBefore = due, Moved = moved }, WorkflowOutput.Json);
                else
                    cli.Out.WriteLine($"{workflowId} is due {(due is { } t ? DueTime.Describe(t, DateTimeOffset.UtcNow) : "now")}; {moved} queued job{(moved == 1 ? "" : "s")} moved");
                return ExitCodes.Ok;
            });
        });
        return reschedule;
    }

    private static Command Priority(CliContext cli)
    {
        var id = IdArgument();
        var value = PriorityCommand.PriorityArgument();
        var priority = new Command("priority",
            "Give a workflow another priority: its jobs waiting to start take it at once, and so do the jobs it releases later; " +
            "running and finished jobs are left as they are. Exit code 1 if it has already finished.") { id, value };
        cli.SetAction(priority, (parse, connection, _) =>
        {
            var workflowId = WorkflowOutput.ParseId(parse.GetValue(id));
            var level = PriorityCommand.Read(parse, value);
            return Task.FromResult<ClientCommand>(async (client, ct) =>
            {
                var changed = await client.ChangeWorkflowPriorityAsync(workflowId, level, ct);
                if (connection.Json)
                    Output.WriteJson(cli.Out, new { Id = workflowId.ToString(), Priority = level, Changed = changed }, WorkflowOutput.Json);
                else
                    cli.Out.WriteLine($"{workflowId} has priority {level}; {changed} waiting job{(changed == 1 ? "" : "s")} changed");
                return ExitCodes.Ok;
            });
        });
        return priority;
    }

    private static void Report(CliContext cli, bool json, WorkflowId id, WorkflowState state, string text)
    {
        if (json)
            Output.WriteJson(cli.Out, new { Id = id.ToString(), State = state }, WorkflowOutput.Json);
        else
            cli.Out.WriteLine($"{text} (now {state})");
    }

    private static void Write(CliContext cli, bool json, WorkflowStatus status)
    {
        if (json)
            Output.WriteJson(cli.Out, status, WorkflowOutput.Json);
        else
            WorkflowOutput.WriteStatus(cli.Out, status);
    }

    private static async Task<int> WaitAndReportAsync(ISchedulerClient client, WorkflowId id, TimeSpan timeout, CliContext cli, bool json, CancellationToken cancellationToken)
    {
        var status = await client.WaitForWorkflowAsync(id, timeout, cancellationToken) ?? throw new CommandFailedException($"workflow {id} not found");
        Write(cli, json, status);
        if (!status.State.IsFinal())
            throw new CommandFailedException($"workflow {id} is still {status.State} after waiting {Duration.Format(timeout)}");
        return status.State == WorkflowState.Succeeded
            ? ExitCodes.Ok
            : throw new CommandFailedException($"workflow {id} {Waiting.Ended(status.State.ToString(), status.Reason)}");
    }
}
