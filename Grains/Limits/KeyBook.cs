namespace Scheduler.Limits;

/// <summary>
/// The rules of one key over its state, without I/O (the key grain stores and wakes): who may take a slot now, who
/// waits and why, whose turn it is. When a slot frees, it is handed to the best waiter at once (the waiter becomes a
/// holder for the attempt it claimed for), so the release and the grant are one stored change, and the job's claim
/// when it comes back only confirms it. Which holders were handed a slot and are not back yet is kept in memory.
/// </summary>
public sealed class KeyBook(string key, FlowKeyState state)
{
    // What Pump returns when it has nothing to hand or tell: shared, so callers only read what it returns.
    private static readonly List<JobId> NoJobs = [];
    private static readonly List<WaitingJob> NoWaiters = [];

    // Holders handed a slot while they waited that have not claimed it yet, and when to tell them again.
    private readonly Dictionary<JobId, DateTimeOffset> _pending = [];

    public FlowKeyState State => state;

    /// <summary>The settings in force: runtime, else configuration, else null.</summary>
    public KeySettings? Settings { get; set; }

    public RateLimit? Rate => Settings?.Rate;

    /// <summary>The concurrency limit in force; <see cref="int.MaxValue"/>: none (a key with only a rate).</summary>
    public int Limit => Settings?.Limit ?? state.JobLimit ?? (Rate is null ? 1 : int.MaxValue);

    /// <summary>Whether <paramref name="job"/> was handed a slot and has not claimed it yet.</summary>
    public bool IsPending(JobId job) => _pending.ContainsKey(job);

    /// <summary>Whether attempt <paramref name="attempt"/> of <paramref name="job"/> holds a slot.</summary>
    public bool Holds(JobId job, int attempt) => state.Holders.TryGetValue(job, out var held) && held.Attempt == attempt;

    private int? LimitInForce => Limit == int.MaxValue ? null : Limit;

    public bool IsIdle => state.Holders.Count == 0 && state.Waiters.Count == 0;

    /// <summary>
    /// Whether the key needs its reminder: while jobs wait for it (or were handed a slot and are not back), only the key
    /// moves them on, so it must come back after its silo died. Holders alone need none: a release reaches the key
    /// whenever it comes, and one lost with its job grain is found once a job waits for the key (the reminder then
    /// checks old holders against their jobs).
    /// </summary>
    public bool NeedsBackstop => state.Waiters.Count > 0 || _pending.Count > 0;

    // Rate slots handed to jobs that have not claimed them yet (stored, so a new activation counts them too).
    private int Reserved => Rate is null ? 0 : state.Holders.Values.Count(h => h.Pending);

    /// <summary>
    /// Decides a claim at <paramref name="now"/>: grants it (recording the holder and, with a rate, the start), or
    /// records the job as a waiter and says why. A job claiming the slot handed to it is granted without a change.
    /// <paramref name="changed"/>: whether the state changed, so the caller must store it.
    /// </summary>
    public KeyAnswer Claim(KeyClaim claim, DateTimeOffset now, out bool changed)
    {
        changed = Prune(now);
        if (state.Holders.TryGetValue(claim.Job, out var held))
        {
            if (held.Attempt == claim.Attempt)
            {
                _pending.Remove(claim.Job);
                if (held.Pending)
                {
                    // A rate-limited start counts from now, as the job starts, not from when the slot was handed over.
                    state.Holders[claim.Job] = held = new HeldSlot(held.Attempt, now);
                    if (Rate is not null)
                        state.RateLog.Add(new RateEntry(claim.Job, held.Attempt, now, Unreported: true));
                    changed = true;
                }
                return new KeyAnswer { Granted = true, GrantedAt = held.Since, RateCounted = Rate is not null && IsUnreported(claim.Job, held.Attempt), Limit = LimitInForce };
            }
            if (held.Attempt > claim.Attempt)
                return new KeyAnswer { Granted = false, Reason = $"attempt {claim.Attempt} is older than attempt {held.Attempt}, which holds {key}" };
            // An older attempt's release was lost: the job grain asks for a new attempt only once the old one ended.
            state.Holders.Remove(claim.Job);
            _pending.Remove(claim.Job);
            changed = true;
        }
        if (claim.Limit is { } limit && state.JobLimit != limit)
        {
            state.JobLimit = limit;
            changed = true;
        }

        // Better waiters come first: a newcomer takes a slot only if it leaves one for each of them.
        var ahead = 0;
        foreach (var waiter in state.Waiters)
        {
            if (waiter.Job != claim.Job && Compare(waiter, claim) < 0)
                ahead++;
        }
        var free = Limit == int.MaxValue ? int.MaxValue : Limit - state.Holders.Count - ahead;
        var rateFree = Rate is { } rate ? rate.Count - state.RateLog.Count - Reserved - ahead : int.MaxValue;
        changed = true;
        if (free > 0 && rateFree > 0)
        {
            state.Holders[claim.Job] = new HeldSlot(claim.Attempt, now);
            if (Rate is not null)
                state.RateLog.Add(new RateEntry(claim.Job, claim.Attempt, now, Unreported: true));
            // Guarded: the lambda's closure is allocated per call, and most grants find no waiters.
            if (state.Waiters.Count > 0)
                state.Waiters.RemoveAll(w => w.Job == claim.Job);
            return new KeyAnswer { Granted = true, GrantedAt = now, RateCounted = Rate is not null, Limit = LimitInForce };
        }

        AddWaiter(claim, now);
        if (free <= 0 && Limit - state.Holders.Count <= 0)
            return new KeyAnswer { Granted = false, Reason = $"waiting for {key}: {state.Holders.Count} of {Limit} held by {Holders()}" };
        if (rateFree <= 0 && Rate is { } full && NextRateSlot(now, Reserved + ahead) is { } eligible)
            return new KeyAnswer
            {
                Granted = false,
                EligibleAt = eligible,
                Reason = $"waiting for {key}: rate limit of {full.Count} starts per {FlowKeys.Describe(full.Window)} reached; next start at {eligible:O}",
            };
        return new KeyAnswer { Granted = false, Reason = $"waiting for {key}: {ahead} job{(ahead == 1 ? "" : "s")} ahead of it" };
    }

    /// <summary>
    /// Gives back attempt <paramref name="attempt"/>'s slot; false when that attempt holds none (a stale release). A
    /// start whose handler never reported beginning is stamped <paramref name="now"/>: it began, if at all, before its end.
    /// </summary>
    public bool Release(JobId job, int attempt, bool started, DateTimeOffset now)
    {
        if (!state.Holders.TryGetValue(job, out var held) || held.Attempt != attempt)
            return false;
        state.Holders.Remove(job);
        _pending.Remove(job);
        if (!started)
            state.RateLog.RemoveAll(e => e.Job == job && e.Attempt == attempt);
        else
            Started(job, attempt, now);
        return true;
    }

    /// <summary>
    /// The handler of <paramref name="attempt"/> has begun, as of <paramref name="now"/> (the key's clock when it heard,
    /// never earlier than the start): from now on the start leaves the window one window after this. Until then it
    /// counts in every window, so however late a handler begins after its grant, no window of handler starts holds more
    /// than the rate. Returns whether the log changed.
    /// </summary>
    public bool Started(JobId job, int attempt, DateTimeOffset now)
    {
        if (state.RateLog.Count == 0)
            return false;
        var index = state.RateLog.FindIndex(e => e.Unreported && e.Job == job && e.Attempt == attempt);
        if (index < 0)
            return false;
        state.RateLog[index] = new RateEntry(job, attempt, now);
        return true;
    }

    private bool IsUnreported(JobId job, int attempt) => state.RateLog.Exists(e => e.Unreported && e.Job == job && e.Attempt == attempt);

    /// <summary>
    /// The job no longer wants the key (it ended while it waited): drops it from the waiters, and gives back the slot
    /// handed to attempt <paramref name="attempt"/> if it had one. False when nothing changed.
    /// </summary>
    public bool Withdraw(JobId job, int attempt)
    {
        var changed = state.Waiters.RemoveAll(w => w.Job == job) > 0;
        return Release(job, attempt, started: false, default) || changed;
    }

    /// <summary>
    /// Whose turn it is at <paramref name="now"/>: hands each free slot to the best waiter (returned in
    /// <paramref name="handed"/>, to be put back in their queues), and returns the holders handed a slot that have not
    /// come back within <paramref name="grace"/> (to be told again). <paramref name="nextCheck"/>: when to look again
    /// (a grace ends or a rate slot frees). <paramref name="changed"/>: whether the stored state changed.
    /// </summary>
    public List<JobId> Pump(DateTimeOffset now, TimeSpan grace, out List<WaitingJob> handed, out DateTimeOffset? nextCheck, out bool changed)
    {
        changed = Prune(now);
        nextCheck = null;
        // Pumped on every claim and release: nothing is allocated when nothing is due.
        var retell = NoJobs;
        foreach (var (job, until) in _pending)
        {
            if (until > now)
                continue;
            // Handed a slot and not back within the grace: tell it again. It may wait for a worker slot (a repeat costs
            // a call the queue ignores), or the way back to its queue may have been lost.
            if (retell == NoJobs)
                retell = [];
            retell.Add(job);
        }
        foreach (var job in retell)
            _pending[job] = now + grace;
        var free = Limit == int.MaxValue ? int.MaxValue : Limit - state.Holders.Count;
        var rateFree = Rate is { } rate ? rate.Count - state.RateLog.Count - Reserved : int.MaxValue;
        var room = Math.Min(free, rateFree);
        handed = room > 0 && state.Waiters.Count > 0 ? [] : NoWaiters;
        while (room > 0 && state.Waiters.Count > 0)
        {
            var waiter = state.Waiters[0];
            state.Waiters.RemoveAt(0);
            state.Holders[waiter.Job] = new HeldSlot(waiter.Attempt, now, Pending: Rate is not null);
            _pending[waiter.Job] = now + grace;
            handed.Add(waiter);
            room--;
            changed = true;
        }
        foreach (var until in _pending.Values)
            nextCheck = nextCheck is { } at && at < until ? at : until;
        if (rateFree <= 0 && state.Waiters.Count > 0 && NextRateSlot(now, Reserved) is { } slot)
            nextCheck = nextCheck is { } at && at < slot ? at : slot;
        return retell;
    }

    /// <summary>
    /// What a job handed a slot answered when told again: true, it still comes; false, it no longer waits (cancelled,
    /// finished), so its slot is given back; null, it could not be reached, so it is told again after <paramref name="retry"/>.
    /// Nothing changes for a job that has claimed its slot meanwhile. Returns whether the stored state changed.
    /// </summary>
    public bool Told(JobId job, bool? wants, DateTimeOffset retry)
    {
        if (!_pending.ContainsKey(job))
        {
            // Not handed a slot (a waiter woken by an older activation, or one without a slot): a job that no longer
            // waits leaves the line.
            return wants == false && state.Waiters.RemoveAll(w => w.Job == job) > 0;
        }
        if (wants is null)
        {
            _pending[job] = retry;
            return false;
        }
        if (wants == true)
            return false;
        return state.Holders.TryGetValue(job, out var held) && Release(job, held.Attempt, started: false, default);
    }

    public KeyStatus ToStatus(string source, DateTimeOffset now)
    {
        var window = Rate is { } rate ? state.RateLog.Where(e => e.Unreported || e.At > now - rate.Window).Select(e => e.At).Order().ToList() : [];
        return new KeyStatus
        {
            Key = key,
            Settings = Settings,
            Source = source,
            Limit = Limit == int.MaxValue ? null : Limit,
            Holders = [.. state.Holders.OrderBy(h => h.Value.Since).Select(h => new KeyHolder(h.Key, h.Value.Attempt, h.Value.Since))],
            Waiters = [.. state.Waiters.Select(w => new KeyWaiter(w.Job, w.Priority, w.Since, false))],
            RateWindowStarts = [.. window],
            NextRateSlotAt = Rate is { } r && window.Count + Reserved >= r.Count ? NextRateSlot(now, Reserved) : null,
        };
    }

    /// <summary>Drops starts that have left the rate window (all of them when the key has no rate limit).</summary>
    private bool Prune(DateTimeOffset now)
    {
        if (Rate is not { } rate)
        {
            if (state.RateLog.Count == 0)
                return false;
            state.RateLog.Clear();
            return true;
        }
        var from = now - rate.Window;
        // A start whose handler has not reported beginning stays: it may begin at any moment yet.
        return state.RateLog.RemoveAll(e => !e.Unreported && e.At <= from) > 0;
    }

    /// <summary>
    /// When the window has room for one more start beyond <paramref name="reserved"/> promised ones, at the earliest: a
    /// start not reported yet is taken as beginning now (it leaves the window no sooner than one window from now).
    /// </summary>
    private DateTimeOffset? NextRateSlot(DateTimeOffset now, int reserved)
    {
        if (Rate is not { } rate)
            return null;
        // The window (t - W, t] holds fewer than Count starts once the (log + reserved - Count + 1)-th oldest has left.
        var leave = state.RateLog.Count + reserved - rate.Count;
        if (leave < 0)
            return now;
        var times = state.RateLog.Select(e => e.Unreported ? now : e.At).Order().ToList();
        return leave < times.Count ? times[leave] + rate.Window : null;
    }

    private void AddWaiter(KeyClaim claim, DateTimeOffset now)
    {
        var index = state.Waiters.FindIndex(w => w.Job == claim.Job);
        var since = index >= 0 ? state.Waiters[index].Since : now;
        if (index >= 0)
            state.Waiters.RemoveAt(index);
        var waiter = new WaitingJob(claim.Job, claim.Priority, claim.QueuedAt, since, claim.Attempt, claim.Shard, claim.SizeHint);
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
