using System.CommandLine;
using System.Globalization;

namespace Scheduler.Cli.Commands;

/// <summary><c>list [--state S] [--queue Q] [--tenant T] [--handler H] [--limit N]</c></summary>
internal static class ListCommand
{
    public static Command Create(CliContext cli)
    {
        var state = new Option<string>("--state", "-s") { Description = $"Only jobs in this state: {string.Join(", ", Enum.GetNames<JobState>())}.", HelpName = "state" };
        var queue = new Option<string>("--queue", "-q") { Description = "Only jobs of this queue.", HelpName = "name" };
        var tenant = new Option<string>("--tenant") { Description = "Only jobs of this tenant.", HelpName = "name" };
        var handler = new Option<string>("--handler") { Description = "Only jobs for this handler.", HelpName = "name" };
        var limit = new Option<int>("--limit", "-n")
        {
            Description = $"Most jobs shown, newest first: 1 to {JobFilter.MaxLimit}.",
            DefaultValueFactory = _ => 100,
        };
        var list = new Command("list", "List jobs, newest first.") { state, queue, tenant, handler, limit };

        cli.SetAction(list, (parse, connection, _) =>
        {
            JobState? wanted = null;
            if (parse.GetValue(state) is { } stateText)
            {
                wanted = JobStates.TryParse(stateText, out var parsed)
                    ? parsed
                    : throw new UsageException($"--state '{stateText}' is not one of {string.Join(", ", Enum.GetNames<JobState>())}");
            }
            var filter = new JobFilter
            {
                State = wanted,
                Queue = Name("--queue", parse.GetValue(queue)),
                Tenant = Name("--tenant", parse.GetValue(tenant)),
                Handler = Name("--handler", parse.GetValue(handler)),
                Limit = parse.GetValue(limit) is var n and >= 1 and <= JobFilter.MaxLimit
                    ? n
                    : throw new UsageException($"--limit {parse.GetValue(limit)} is out of range: use 1 to {JobFilter.MaxLimit}"),
            };

            return Task.FromResult<ClientCommand>(async (client, ct) =>
            {
                var jobs = await client.ListAsync(filter, ct);
                if (connection.Json)
                {
                    Output.WriteJson(cli.Out, jobs);
                    return ExitCodes.Ok;
                }
                Output.WriteTable(cli.Out,
                    ["ID", "STATE", "PRIORITY", "QUEUE", "TENANT", "HANDLER", "ATTEMPT", "CREATED", "DUE"],
                    [.. jobs.Select(j => (IReadOnlyList<string>)
                    [
                        j.Id.ToString(), j.State.ToString(), j.Priority.ToString(CultureInfo.InvariantCulture), j.Queue, j.Tenant, j.Handler,
                        j.Attempt.ToString(CultureInfo.InvariantCulture), Output.Time(j.CreatedAt),
                        j.State == JobState.Queued && j.NextAttemptAt is { } due ? DueTime.Describe(due, DateTimeOffset.UtcNow) : "-",
                    ])]);
                return ExitCodes.Ok;
            });
        });
        return list;
    }

    private static string? Name(string option, string? value) =>
        value is null || RequestValidation.IsName(value)
            ? value
            : throw new UsageException($"{option} '{value}' is not a valid name ({RequestValidation.NameRule})");
}
