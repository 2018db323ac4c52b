namespace Scheduler.Client;

internal sealed partial class SchedulerClient
{
    public async Task<SubmitOutcome> UpsertScheduleAsync(ScheduleDefinition definition, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var errors = ScheduleValidation.Check(definition, _options.MaxPayloadBytes);
        if (!errors.IsEmpty)
            throw WorkflowRefused(errors, "nothing was stored");
        var reply = await CallAsync(g => g.GetGrain<IScheduleGrain>(definition.Id).Upsert(definition), cancellationToken);
        var outcome = Check(reply, "nothing was stored").Outcome ?? SubmitOutcome.Accepted;
        await AuditAsync("schedule.upsert", definition.Id, outcome.ToString(), cancellationToken);
        return outcome;
    }

    public Task<ScheduleStatus?> GetScheduleAsync(string id, int nextOccurrences = 5, CancellationToken cancellationToken = default)
    {
        if (nextOccurrences is < 0 or > 1000)
            throw new SchedulerException(SchedulerErrorCode.InvalidRequest, $"next occurrences {nextOccurrences} is out of range: use 0 to 1000");
        return CallAsync(g => g.GetGrain<IScheduleGrain>(CheckedId(id)).Describe(nextOccurrences), cancellationToken);
    }

    public Task<IReadOnlyList<ScheduleSummary>> ListSchedulesAsync(string? after = null, int limit = 100, CancellationToken cancellationToken = default)
    {
        if (limit is < 1 or > 1000)
            throw new SchedulerException(SchedulerErrorCode.InvalidRequest, $"limit {limit} is out of range: use 1 to 1000");
        return CallAsync<IReadOnlyList<ScheduleSummary>>(async g => await g.GetGrain<IScheduleDirectoryGrain>(0).List(after, limit), cancellationToken);
    }

    public async Task PauseScheduleAsync(string id, string? note = null, CancellationToken cancellationToken = default)
    {
        Check(await CallAsync(g => g.GetGrain<IScheduleGrain>(CheckedId(id)).Pause(CheckedNote(note)), cancellationToken));
        await AuditAsync("schedule.pause", id, note, cancellationToken);
    }

    public Task<IReadOnlyList<ScheduleRun>> ResumeScheduleAsync(string id, string? note = null, CancellationToken cancellationToken = default) =>
        AuditedAsync("schedule.resume", id, CallAsync<IReadOnlyList<ScheduleRun>>(async g => Check(await g.GetGrain<IScheduleGrain>(CheckedId(id)).Resume(CheckedNote(note))).Runs, cancellationToken),
            _ => note, cancellationToken);

    public Task<ScheduleRun> TriggerScheduleAsync(string id, CancellationToken cancellationToken = default) =>
        AuditedAsync("schedule.trigger", id, CallAsync(async g => Check(await g.GetGrain<IScheduleGrain>(CheckedId(id)).Trigger()).Runs[0], cancellationToken),
            run => run.Outcome.ToString(), cancellationToken);

    public async Task<IReadOnlyList<ScheduleRun>> BackfillScheduleAsync(string id, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default)
    {
        if (to < from)
            throw new SchedulerException(SchedulerErrorCode.InvalidRequest, $"backfill end {to:O} is before its start {from:O}: give the earlier time first");
        var runs = Check(await CallAsync(g => g.GetGrain<IScheduleGrain>(CheckedId(id)).Backfill(from, to), cancellationToken)).Runs;
        await AuditAsync("schedule.backfill", id, $"{from:O}..{to:O}: {runs.Length} runs", cancellationToken);
        return runs;
    }

    public Task<bool> DeleteScheduleAsync(string id, CancellationToken cancellationToken = default) =>
        AuditedAsync("schedule.delete", id, CallAsync(g => g.GetGrain<IScheduleGrain>(CheckedId(id)).Delete(), cancellationToken),
            deleted => deleted ? null : "no such schedule", cancellationToken);

    private static string CheckedId(string id) =>
        ScheduleValidation.IsId(id) ? id : throw new SchedulerException(SchedulerErrorCode.InvalidRequest, $"schedule id '{id}' is not a valid name ({RequestValidation.NameRule})");

    private static string? CheckedNote(string? note) =>
        ScheduleValidation.CheckNote(note) is { } problem ? throw new SchedulerException(SchedulerErrorCode.InvalidRequest, problem) : note;

    private static ScheduleReply Check(ScheduleReply reply, string consequence = "nothing changed") =>
        reply.Succeeded ? reply : throw WorkflowRefused(reply.Errors, consequence);
}
