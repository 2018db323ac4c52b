using System.CommandLine;
using System.Globalization;
using Scheduler.Cli.Schedules;
using Scheduler.Client;

namespace Scheduler.Cli.Commands;

/// <summary>
/// <c>schedule create &lt;file.json&gt; | list | show &lt;id&gt; | pause &lt;id&gt; | resume &lt;id&gt; | trigger &lt;id&gt; |
/// delete &lt;id&gt; | backfill &lt;id&gt; --from T --to T</c>
/// </summary>
internal static class ScheduleCommand
{
    public static Command Create(CliContext cli) => new("schedule",
        "Run a job or a workflow on a cron expression (in a time zone) or at a fixed interval, each occurrence exactly once.\n" +
        "The file format is in docs/schedules.md.")
    {
        CreateCommand(cli), List(cli), Show(cli), PauseOrResume(cli, pause: true), PauseOrResume(cli, pause: false),
        Trigger(cli), Delete(cli), Backfill(cli),
    };

    private static Argument<string> IdArgument() => new("schedule-id") { Description = "The schedule's id, as in its file (e.g. nightly-rescan)." };

    private static string ParseId(string? text) =>
        ScheduleValidation.IsId(text) ? text! : throw new UsageException($"'{text}' is not a schedule id ({RequestValidation.NameRule})");

    private static Command CreateCommand(CliContext cli)
    {
        var file = new Argument<string>("file") { Description = "The schedule as JSON: id, trigger, policies, and the job or workflow it runs." };
        var create = new Command("create", "Create a schedule from a JSON file, or update the one with its id (its runs and pause state are kept). " +
            "The whole file is checked first; nothing is sent if any of it is wrong.") { file };
        cli.SetAction(create, async (parse, connection, cancellationToken) =>
        {
            var path = parse.GetValue(file)!;
            var definition = await ScheduleFile.ReadAsync(path, cancellationToken);
            var errors = ScheduleValidation.Check(definition, JobRequest.DefaultMaxPayloadBytes);
            if (!errors.IsEmpty)
                throw new UsageException($"schedule file '{path}' is not a valid schedule: " + string.Join("; ", errors.Select(e => e.Message)));
            return async (client, ct) =>
            {
                var outcome = await client.UpsertScheduleAsync(definition, ct);
                var status = await client.GetScheduleAsync(definition.Id, 1, ct);
                if (connection.Json)
                {
                    Output.WriteJson(cli.Out, new { definition.Id, Created = outcome == SubmitOutcome.Accepted, Next = status?.NextOccurrences.FirstOrDefault() });
                    return ExitCodes.Ok;
                }
                var next = status?.NextOccurrences is [var first, ..] ? $"; next run {Time(first)}" : "";
                cli.Out.WriteLine($"{(outcome == SubmitOutcome.Accepted ? "created" : "updated")} {definition.Id}{next}");
                return ExitCodes.Ok;
            };
        });
        return create;
    }

    private static Command List(CliContext cli)
    {
        var list = new Command("list", "List the schedules by id: trigger, state, runs so far and the latest run.");
        cli.SetAction(list, (parse, connection, _) => Task.FromResult<ClientCommand>(async (client, ct) =>
        {
            var all = new List<ScheduleSummary>();
            string? after = null;
            while (true)
            {
                var page = await client.ListSchedulesAsync(after, 1000, ct);
                all.AddRange(page);
                if (page.Count < 1000)
                    break;
                after = page[^1].Id;
            }
            if (connection.Json)
            {
                Output.WriteJson(cli.Out, all);
                return ExitCodes.Ok;
            }
            Output.WriteTable(cli.Out, ["ID", "TRIGGER", "STATE", "RUNS", "LAST RUN"],
                [.. all.Select(s => (IReadOnlyList<string>)
                [
                    s.Id, Trigger(s.Trigger), s.Ended ? "ended" : s.Paused ? "paused" : "active", s.RunCount.ToString(CultureInfo.InvariantCulture),
                    s.LastRun is { } run ? $"{Output.Time(run.Occurrence)} {run.Outcome}" : "-",
                ])]);
            return ExitCodes.Ok;
        }));
        return list;
    }

    private static Command Show(CliContext cli)
    {
        var id = IdArgument();
        var next = new Option<int>("--next", "-n") { Description = "How many next occurrences to show: 0 to 1000.", DefaultValueFactory = _ => 5 };
        var runs = new Option<int>("--runs") { Description = $"How many of the last runs to show: 0 to {ScheduleIds.MaxRunsKept}.", DefaultValueFactory = _ => 10 };
        var show = new Command("show", "Show a schedule: its trigger and policies, its state, its next occurrences in its time zone, and its last runs with their ids and outcomes.")
        {
            id, next, runs,
        };
        cli.SetAction(show, (parse, connection, _) =>
        {
            var scheduleId = ParseId(parse.GetValue(id));
            var count = parse.GetValue(next) is var n and >= 0 and <= 1000 ? n : throw new UsageException($"--next {parse.GetValue(next)} is out of range: use 0 to 1000");
            var runCount = parse.GetValue(runs) is var r and >= 0 and <= ScheduleIds.MaxRunsKept
                ? r
                : throw new UsageException($"--runs {parse.GetValue(runs)} is out of range: use 0 to {ScheduleIds.MaxRunsKept}");
            return Task.FromResult<ClientCommand>(async (client, ct) =>
            {
                var status = await client.GetScheduleAsync(scheduleId, count, ct) ?? throw new CommandFailedException($"schedule {scheduleId} not found");
                status = status with { LastRuns = [.. status.LastRuns.Take(runCount)] };
                if (connection.Json)
                    Output.WriteJson(cli.Out, status);
                else
                    WriteStatus(cli.Out, status);
                return ExitCodes.Ok;
            });
        });
        return show;
    }

    private static Command PauseOrResume(CliContext cli, bool pause)
    {
        var id = IdArgument();
        var note = new Option<string>("--note") { Description = "Why; shown by schedule show.", HelpName = "text" };
        var command = pause
            ? new Command("pause", "Stop a schedule firing; runs already started go on.") { id, note }
            : new Command("resume", "Fire a paused schedule again; what it missed while paused follows its missed policy.") { id, note };
        cli.SetAction(command, (parse, connection, _) =>
        {
            var scheduleId = ParseId(parse.GetValue(id));
            var text = parse.GetValue(note);
            if (ScheduleValidation.CheckNote(text) is { } problem)
                throw new UsageException($"--note: {problem}");
            return Task.FromResult<ClientCommand>(async (client, ct) =>
            {
                IReadOnlyList<ScheduleRun> fired = [];
                if (pause)
                    await client.PauseScheduleAsync(scheduleId, text, ct);
                else
                    fired = await client.ResumeScheduleAsync(scheduleId, text, ct);
                if (connection.Json)
                    Output.WriteJson(cli.Out, new { Id = scheduleId, Paused = pause, Runs = fired });
                else
                {
                    cli.Out.WriteLine($"{(pause ? "paused" : "resumed")} {scheduleId}");
                    foreach (var run in fired)
                        cli.Out.WriteLine($"  caught up {Output.Time(run.Occurrence)} as {run.RunId} ({run.Outcome})");
                }
                return ExitCodes.Ok;
            });
        });
        return command;
    }

    private static Command Trigger(CliContext cli)
    {
        var id = IdArgument();
        var trigger = new Command("trigger", "Fire one occurrence now (paused or not), under the schedule's overlap policy; prints the run's id and outcome.") { id };
        cli.SetAction(trigger, (parse, connection, _) =>
        {
            var scheduleId = ParseId(parse.GetValue(id));
            return Task.FromResult<ClientCommand>(async (client, ct) =>
            {
                var run = await client.TriggerScheduleAsync(scheduleId, ct);
                if (connection.Json)
                    Output.WriteJson(cli.Out, run);
                else
                    cli.Out.WriteLine($"{run.RunId} {run.Outcome}");
                return ExitCodes.Ok;
            });
        });
        return trigger;
    }

    private static Command Delete(CliContext cli)
    {
        var id = IdArgument();
        var delete = new Command("delete", "Delete a schedule; runs already started go on. Exit code 1 if there is no such schedule.") { id };
        cli.SetAction(delete, (parse, connection, _) =>
        {
            var scheduleId = ParseId(parse.GetValue(id));
            return Task.FromResult<ClientCommand>(async (client, ct) =>
            {
                if (!await client.DeleteScheduleAsync(scheduleId, ct))
                    throw new CommandFailedException($"schedule {scheduleId} not found");
                if (connection.Json)
                    Output.WriteJson(cli.Out, new { Id = scheduleId, Deleted = true });
                else
                    cli.Out.WriteLine($"deleted {scheduleId}");
                return ExitCodes.Ok;
            });
        });
        return delete;
    }

    private static Command Backfill(CliContext cli)
    {
        var id = IdArgument();
        var from = new Option<string>("--from") { Description = "The first time of the range (ISO 8601, e.g. 2026-12-01T00:00:00Z).", HelpName = "time", Required = true };
        var to = new Option<string>("--to") { Description = "The last time of the range, in the past.", HelpName = "time", Required = true };
        var backfill = new Command("backfill", $"Run every occurrence of a schedule in a past range (both ends included, at most {ScheduleIds.MaxBackfill}), " +
            "whatever its overlap policy. An occurrence that already ran is not run again.") { id, from, to };
        cli.SetAction(backfill, (parse, connection, _) =>
        {
            var scheduleId = ParseId(parse.GetValue(id));
            var start = ParseTime("--from", parse.GetValue(from)!);
            var end = ParseTime("--to", parse.GetValue(to)!);
            if (end < start)
                throw new UsageException("--to is before --from: give the earlier time first");
            return Task.FromResult<ClientCommand>(async (client, ct) =>
            {
                var runs = await client.BackfillScheduleAsync(scheduleId, start, end, ct);
                if (connection.Json)
                {
                    Output.WriteJson(cli.Out, runs);
                    return ExitCodes.Ok;
                }
                foreach (var run in runs)
                    cli.Out.WriteLine($"{Output.Time(run.Occurrence)}  {run.RunId}  {run.Outcome}");
                cli.Out.WriteLine($"{runs.Count} occurrence{(runs.Count == 1 ? "" : "s")} of {scheduleId} backfilled");
                return ExitCodes.Ok;
            });
        });
        return backfill;
    }

    private static DateTimeOffset ParseTime(string option, string text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)
            ? time
            : throw new UsageException($"{option} '{text}' is not a time: use ISO 8601, e.g. 2026-12-07T03:00:00Z");

    private static string Trigger(ScheduleTrigger trigger) =>
        trigger.Cron is { } cron ? $"cron '{cron}' {trigger.TimeZone}" : $"every {Duration.Format(trigger.Interval!.Value)}";

    private static string Time(DateTimeOffset time) => time.ToString("yyyy-MM-dd HH:mm:ss zzz", CultureInfo.InvariantCulture);

    internal static void WriteStatus(TextWriter writer, ScheduleStatus status)
    {
        var definition = status.Definition;
        var zone = ScheduleValidation.FindZone(definition.Trigger.TimeZone) ?? TimeZoneInfo.Utc;
        string InZone(DateTimeOffset t) => Time(TimeZoneInfo.ConvertTime(t, zone));
        (string Name, string Value)[] rows =
        [
            ("id", definition.Id),
            ("runs", definition.Workflow is { } workflow ? $"workflow{(workflow.Name is { } label ? $" '{label}'" : "")} of {workflow.Jobs.Length} jobs" : $"job, handler {definition.Job!.Handler}, queue {definition.Job.Queue}"),
            ("trigger", Trigger(definition.Trigger)),
            ("state", status.Ended ? "ended" : status.Paused ? "paused" : "active"),
            ("note", status.Note ?? "-"),
            ("created", InZone(status.CreatedAt)),
            ("start", definition.StartAt is { } start ? InZone(start) : "-"),
            ("end", definition.EndAt is { } end ? InZone(end) : "-"),
            ("max runs", definition.MaxRuns?.ToString(CultureInfo.InvariantCulture) ?? "-"),
            ("jitter", definition.Jitter is { } jitter ? Duration.Format(jitter) : "-"),
            ("overlap", definition.Overlap.ToString()),
            ("missed", definition.Missed == ScheduleMissedPolicy.FireAll
                ? $"FireAll within {Duration.Format(definition.CatchUpWindow ?? ScheduleValidation.DefaultCatchUpWindow)}"
                : definition.Missed.ToString()),
            ("runs so far", status.RunCount.ToString(CultureInfo.InvariantCulture)),
        ];
        var width = rows.Max(r => r.Name.Length) + 1;
        foreach (var (name, value) in rows)
            writer.WriteLine($"{(name + ":").PadRight(width)} {value}");

        writer.WriteLine();
        writer.WriteLine($"next occurrences ({zone.Id}):");
        if (status.NextOccurrences.IsDefaultOrEmpty)
            writer.WriteLine("  none");
        foreach (var next in status.NextOccurrences)
            writer.WriteLine($"  {InZone(next)}");

        writer.WriteLine();
        writer.WriteLine("last runs:");
        if (status.LastRuns.IsDefaultOrEmpty)
        {
            writer.WriteLine("  none");
            return;
        }
        Output.WriteTable(writer, ["  OCCURRENCE", "REASON", "OUTCOME", "RUN ID"],
            [.. status.LastRuns.Select(r => (IReadOnlyList<string>)
            [
                "  " + InZone(r.Occurrence), r.Reason.ToString(), r.Outcome.ToString(), $"{(r.IsWorkflow ? "workflow" : "job")} {r.RunId}",
            ])]);
    }
}
