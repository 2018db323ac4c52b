namespace Scheduler.Limits;

/// <summary>
/// The rules of one key over its state, without I/O (the key grain stores and wakes): who may take a slot now, who
/// waits and why, whose turn it is. Woken waiters (told their turn came, on their way back) are kept in memory.
/// </summary>
public sealed class KeyBook(string key, FlowKeyState state)
{
    private readonly Dictionary<JobId, DateTimeOffset> _woken = [];

    public FlowKeyState State => state;

    /// <summary>The settings in force: runtime, else configuration, else null.</summary>
    public KeySettings? Settings { get; set; }

    public RateLimit? Rate => Settings?.Rate;

    /// <summary>The concurrency limit in force; <see cref="int.MaxValue"/>: none (a key with only a rate).</summary>
    public int Limit => Settings?.Limit ?? state.JobLimit ?? (Rate is null ? 1 : int.MaxValue);

    public bool IsWoken(JobId job) => _woken.ContainsKey(job);

    public bool IsIdle => state.Holders.Count == 0 && state.Waiters.Count == 0;

    /// <summary>
    /// Decides a claim at <paramref name="now"/>: grants it (recording the holder and, with a rate, the start), or
    /// records the job as a waiter and says why. The caller stores the state either way.
    /// </summary>
    public KeyAnswer Claim(KeyClaim claim, DateTimeOffset now)
    {
        Prune(now);
        if (state.Holders.TryGetValue(claim.Job, out var held))
        {
            if (held.Attempt == claim.Attempt)
                return new KeyAnswer { Granted = true, GrantedAt = held.Since };
            if (held.Attempt > claim.Attempt)
                return new KeyAnswer { Granted = false, Reason = $"attempt {claim.Attempt} is older than attempt {held.Attempt}, which holds {key}" };
            // An older attempt's release was lost: the job grain asks for a new attempt only once the old one ended.
            state.Holders.Remove(claim.Job);
        }
        if (claim.Limit is { } limit)
            state.JobLimit = limit;

        var woken = _woken.Remove(claim.Job);
        var reserved = _woken.Count;
        var ahead = 0;
        foreach (var waiter in state.Waiters)
        {
            if (waiter.Job != claim.Job && !_woken.ContainsKey(waiter.Job) && Compare(waiter, claim) < 0)
                ahead++;
        }
        // A woken waiter's slot was kept for it; anyone else leaves room for the woken and for better waiters.
        var before = woken ? 0 : reserved + ahead;
        var free = Limit == int.MaxValue ? int.MaxValue : Limit - state.Holders.Count - before;
        var rateFree = Rate is { } rate ? rate.Count - state.RateLog.Count - before : int.MaxValue;
        if (free > 0 && rateFree > 0)
        {
            state.Holders[claim.Job] = new HeldSlot(claim.Attempt, now);
            if (Rate is not null)
                state.RateLog.Add(new RateEntry(claim.Job, claim.Attempt, now));
            state.Waiters.RemoveAll(w => w.Job == claim.Job);
            return new KeyAnswer { Granted = true, GrantedAt = now };
        }

        AddWaiter(claim, now);
        if (free <= 0 && Limit - state.Holders.Count <= 0)
            return new KeyAnswer { Granted = false, Reason = $"waiting for {key}: {state.Holders.Count} of {Limit} held by {Holders()}" };
        if (rateFree <= 0 && Rate is { } full && NextRateSlot(now, before) is { } eligible)
            return new KeyAnswer
            {
                Granted = false,
                EligibleAt = eligible,
                Reason = $"waiting for {key}: rate limit of {full.Count} starts per {FlowKeys.Describe(full.Window)} reached; next start at {eligible:O}",
            };
        return new KeyAnswer { Granted = false, Reason = $"waiting for {key}: {before} job{(before == 1 ? "" : "s")} ahead of it" };
    }

    /// <summary>Gives back attempt <paramref name="attempt"/>'s slot; false when that attempt holds none (a stale release).</summary>
    public bool Release(JobId job, int attempt, bool started)
    {
        if (!state.Holders.TryGetValue(job, out var held) || held.Attempt != attempt)
            return false;
        state.Holders.Remove(job);
        if (!started)
            state.RateLog.RemoveAll(e => e.Job == job && e.Attempt == attempt);
        return true;
    }

    /// <summary>
    /// Whose turn it is at <paramref name="now"/>: marks the best waiters woken, as many as there is room for, and
    /// returns them, with the woken ones that have not come back within <paramref name="grace"/> (told again). <paramref name="nextCheck"/>: when to look again (a woken waiter's grace ends or a rate slot frees).
    /// </summary>
    public List<JobId> Pump(DateTimeOffset now, TimeSpan grace, out DateTimeOffset? nextCheck)
    {
        Prune(now);
        nextCheck = null;
        var woken = new List<JobId>();
        foreach (var (job, until) in _woken.ToList())
        {
            if (until > now)
                continue;
            // Told and not back within the grace: tell it again. It may wait for a worker slot (a repeat costs a call
            // the queue ignores), or the activation that was told may have died before it reached its queue.
            _woken[job] = now + grace;
            woken.Add(job);
        }
        var free = Limit == int.MaxValue ? int.MaxValue : Limit - state.Holders.Count - _woken.Count;
        var rateFree = Rate is { } rate ? rate.Count - state.RateLog.Count - _woken.Count : int.MaxValue;
        var room = Math.Min(free, rateFree);
        foreach (var waiter in state.Waiters)
        {
            if (room <= 0)
                break;
            if (_woken.ContainsKey(waiter.Job))
                continue;
            _woken[waiter.Job] = now + grace;
            woken.Add(waiter.Job);
            room--;
        }
        foreach (var until in _woken.Values)
            nextCheck = nextCheck is { } at && at < until ? at : until;
        if (rateFree <= 0 && state.Waiters.Count > _woken.Count && NextRateSlot(now, _woken.Count) is { } slot)
            nextCheck = nextCheck is { } at && at < slot ? at : slot;
        return woken;
    }

    /// <summary>A wake was not delivered (false: the job no longer waits, so it is dropped; null: it failed, so it is retried).</summary>
    public void WakeFailed(JobId job, bool stillWaiting)
    {
        _woken.Remove(job);
        if (!stillWaiting)
            state.Waiters.RemoveAll(w => w.Job == job);
    }

    public KeyStatus ToStatus(string source, DateTimeOffset now)
    {
        var window = Rate is { } rate ? state.RateLog.Where(e => e.At > now - rate.Window).Select(e => e.At).ToList() : [];
        return new KeyStatus
        {
            Key = key,
            Settings = Settings,
            Source = source,
            Limit = Limit == int.MaxValue ? null : Limit,
            Holders = [.. state.Holders.OrderBy(h => h.Value.Since).Select(h => new KeyHolder(h.Key, h.Value.Attempt, h.Value.Since))],
            Waiters = [.. state.Waiters.Select(w => new KeyWaiter(w.Job, w.Priority, w.Since, _woken.ContainsKey(w.Job)))],
            RateWindowStarts = [.. window],
            NextRateSlotAt = Rate is { } r && window.Count >= r.Count ? window[window.Count - r.Count] + r.Window : null,
        };
    }

    /// <summary>Drops starts that have left the rate window (all of them when the key has no rate limit).</summary>
    private void Prune(DateTimeOffset now)
    {
        if (Rate is not { } rate)
        {
            state.RateLog.Clear();
            return;
        }
        var from = now - rate.Window;
        var old = 0;
        while (old < state.RateLog.Count && state.RateLog[old].At <= from)
            old++;
        if (old > 0)
            state.RateLog.RemoveRange(0, old);
    }

    /// <summary>When the window has room for one more start beyond <paramref name="reserved"/> promised ones.</summary>
    private DateTimeOffset? NextRateSlot(DateTimeOffset now, int reserved)
    {
        if (Rate is not { } rate)
            return null;
        // The window (t - W, t] holds fewer than Count starts once the (log + reserved - Count + 1)-th oldest has left.
        var leave = state.RateLog.Count + reserved - rate.Count;
        if (leave < 0)
            return now;
        return leave < state.RateLog.Count ? state.RateLog[leave].At + rate.Window : null;
    }

    private void AddWaiter(KeyClaim claim, DateTimeOffset now)
    {
        var index = state.Waiters.FindIndex(w => w.Job == claim.Job);
        var since = index >= 0 ? state.Waiters[index].Since : now;
        if (index >= 0)
            state.Waiters.RemoveAt(index);
        var waiter = new WaitingJob(claim.Job, claim.Priority, claim.QueuedAt, since);
        var at = state.Waiters.BinarySearch(waiter, Comparer<WaitingJob>.Create(WaitingJob.Compare));
        state.Waiters.Insert(at < 0 ? ~at : at, waiter);
    }

    private static int Compare(WaitingJob waiter, KeyClaim claim) =>
        WaitingJob.Compare(waiter, new WaitingJob(claim.Job, claim.Priority, claim.QueuedAt, default));

    private string Holders()
    {
        var ids = state.Holders.OrderBy(h => h.Value.Since).Select(h => h.Key.ToString()).ToList();
        return ids.Count <= 3 ? string.Join(", ", ids) : $"{string.Join(", ", ids.Take(3))} and {ids.Count - 3} more";
    }
}
