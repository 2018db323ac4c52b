namespace Scheduler.Schedules;

/// <summary>
/// What one pass of a schedule fires at <c>now</c>: the occurrences whose time (and jitter) has come since the last
/// handled one, on time or missed, as its missed policy says. Pure, so cron, daylight-saving and catch-up rules can be
/// tested against any clock.
/// </summary>
/// <param name="Fire">The occurrences to fire, oldest first, each with why.</param>
/// <param name="HandledUntil">The last due occurrence, fired or dropped; null when none was due.</param>
/// <param name="Dropped">Missed occurrences the policy drops, of those the pass looked at (after a long outage it looks back only as far as the policy needs).</param>
internal sealed record SchedulePass(
    IReadOnlyList<(DateTimeOffset Occurrence, ScheduleFireReason Reason)> Fire,
    DateTimeOffset? HandledUntil,
    int Dropped)
{
    /// <summary>
    /// An occurrence found later than this after its time (and jitter) counts as missed, and its missed policy applies.
    /// A timer fires within milliseconds; lateness beyond this means the schedule could not fire (its silo died, the
    /// cluster was down), which is what the policy is for.
    /// </summary>
    public static readonly TimeSpan MissedAfter = TimeSpan.FromSeconds(5);

    /// <summary>Most occurrences one pass handles; earlier ones of a longer backlog are dropped as missed.</summary>
    public const int MaxDuePerPass = ScheduleIds.MaxBackfill;

    /// <param name="allMissed">Count every due occurrence as missed (the first pass after a pause).</param>
    /// <param name="lead">
    /// Also fire the occurrences whose time (and jitter) comes within this much after <paramref name="now"/>: their runs
    /// are submitted ahead, to start at their time.
    /// </param>
    public static SchedulePass Plan(string id, ScheduleDefinition definition, ScheduleClock clock, DateTimeOffset handledUntil,
        DateTimeOffset now, bool allMissed, TimeSpan lead = default)
    {
        // Due: time and jitter passed (or come within the lead). Stop at the first not yet due, so nothing is handled out of turn.
        var due = new List<DateTimeOffset>();
        var until = now + lead;
        var cursor = ScanFrom(definition, clock, handledUntil, now);
        while (clock.NextAfter(cursor) is { } occurrence && occurrence <= until)
        {
            if (occurrence + ScheduleIds.JitterOf(id, occurrence, definition.Jitter) > until)
                break;
            // After a long outage of a frequent schedule only the latest ones matter; older ones are dropped as missed.
            if (due.Count == MaxDuePerPass)
                due.RemoveAt(0);
            due.Add(occurrence.ToUniversalTime());
            cursor = occurrence;
        }
        if (due.Count == 0)
            return new SchedulePass([], null, 0);

        var onTime = allMissed ? [] : due.Where(o => o + ScheduleIds.JitterOf(id, o, definition.Jitter) >= now - MissedAfter).ToList();
        var missed = due.Except(onTime).ToList();
        var fire = new List<(DateTimeOffset, ScheduleFireReason)>();
        switch (definition.Missed)
        {
            case ScheduleMissedPolicy.FireOnce when onTime.Count == 0 && missed.Count > 0:
                fire.Add((missed[^1], ScheduleFireReason.CatchUp));
                break;
            case ScheduleMissedPolicy.FireAll:
                var window = definition.CatchUpWindow ?? ScheduleValidation.DefaultCatchUpWindow;
                fire.AddRange(missed.Where(o => o >= now - window).Select(o => (o, ScheduleFireReason.CatchUp)));
                break;
        }
        var caughtUp = fire.Count;
        fire.AddRange(onTime.Select(o => (o, ScheduleFireReason.Scheduled)));
        return new SchedulePass(fire, due[^1], missed.Count - caughtUp);
    }

    /// <summary>
    /// Where a pass starts looking for due occurrences: after the last one handled, but after a long outage of a
    /// frequent schedule no further back than the policy needs (FireAll: its window; otherwise the latest occurrence,
    /// found by looking back in doubling steps), so a year's backlog of a 1 s interval is not walked one by one.
    /// </summary>
    private static DateTimeOffset ScanFrom(ScheduleDefinition definition, ScheduleClock clock, DateTimeOffset handledUntil, DateTimeOffset now)
    {
        if (definition.Missed == ScheduleMissedPolicy.FireAll)
            return Max(handledUntil, now - (definition.CatchUpWindow ?? ScheduleValidation.DefaultCatchUpWindow) - MissedAfter);
        for (var back = TimeSpan.FromMinutes(1); now - back > handledUntil; back *= 2)
        {
            if (clock.NextAfter(now - back) is { } occurrence && occurrence <= now)
                return now - back;
        }
        return handledUntil;
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}
