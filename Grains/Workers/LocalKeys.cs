using System.Collections.Immutable;

namespace Scheduler.Workers;

/// <summary>
/// The concurrency keys of the jobs this silo is starting or running, with each key's limit as the key last granted
/// it. A pulled job whose key this silo's own jobs already fill would only be refused by the key (a wasted start,
/// claim, stored waiter and trip back through its queue): it is set aside instead, holding no worker slot, and takes
/// the slot of the next job here that ends holding that key. Only a hint: the key grain still decides every start,
/// so a key shared with other silos may still refuse it. Thread-safe.
/// </summary>
internal sealed class LocalKeys
{
    private readonly Dictionary<string, KeyUse> _keys = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private long _sequence;
    private bool _closed;
    // Jobs set aside too long and sent back to their queues, with when: pulled again, they go to their keys at once.
    private readonly Dictionary<JobId, long> _noMore = [];

    /// <summary>A pulled job, with what it needs to run, and its place in its queue (jobs set aside start in that order).</summary>
    public readonly record struct Parked(PulledJob Job, string Queue, QueueEntry Entry, long Since = 0)
    {
        public ImmutableArray<string> Keys => Entry.Keys;
    }

    /// <summary>Jobs set aside now (for tests and diagnostics).</summary>
    public int ParkedCount
    {
        get
        {
            lock (_lock)
                return _keys.Values.Sum(k => k.Parked?.Count ?? 0);
        }
    }

    /// <summary>The silo is stopping: nothing is set aside any more, and the jobs set aside now are returned (to go back to their queues).</summary>
    public List<Parked> Close()
    {
        lock (_lock)
        {
            _closed = true;
            var all = _keys.Values.Where(k => k.Parked is not null).SelectMany(k => k.Parked!.UnorderedItems.Select(i => i.Element)).ToList();
            foreach (var use in _keys.Values)
                use.Parked = null;
            return all;
        }
    }

    /// <summary>
    /// Admits the job (counting it against its keys until <see cref="Ended"/>), or sets it aside when one of its keys
    /// is full here. True: admitted. <paramref name="now"/> is a timestamp for <see cref="Expire"/>.
    /// </summary>
    public bool Admit(Parked job, long now)
    {
        if (job.Keys.IsDefaultOrEmpty)
            return true;
        lock (_lock)
        {
            if (_closed)
                return true;
            if (_noMore.Remove(job.Job.Id))
            {
                Count(job);
                return true;
            }
            return AdmitLocked(job with { Since = now });
        }
    }

    /// <summary>
    /// Takes out the jobs set aside since before <paramref name="before"/> (to go back to their queues): a job that waits
    /// long waits at its key, where its status and the key's waiters show it. Forgets those sent back long ago.
    /// </summary>
    public List<Parked> Expire(long before, long forgetBefore)
    {
        var expired = new List<Parked>();
        lock (_lock)
        {
            foreach (var use in _keys.Values)
            {
                if (use.Parked is not { Count: > 0 } parked || !parked.UnorderedItems.Any(i => i.Element.Since < before))
                    continue;
                var items = parked.UnorderedItems.ToList();
                parked.Clear();
                foreach (var (job, order) in items)
                {
                    if (job.Since < before)
                        expired.Add(job);
                    else
                        parked.Enqueue(job, order);
                }
            }
            foreach (var job in expired)
                _noMore[job.Job.Id] = before;
            foreach (var (id, at) in _noMore.Where(e => e.Value < forgetBefore).ToList())
                _noMore.Remove(id);
        }
        return expired;
    }

    private bool AdmitLocked(Parked job)
    {
        foreach (var key in job.Keys)
        {
            if (_keys.TryGetValue(key, out var use) && use.Running >= use.Limit)
            {
                // Best first, as its queue would hand them out: higher priority, then older, then pulled earlier.
                (use.Parked ??= new()).Enqueue(job, (-job.Entry.Priority, job.Entry.EnqueuedAtTicks, ++_sequence));
                return false;
            }
        }
        Count(job);
        return true;
    }

    private void Count(Parked job)
    {
        foreach (var key in job.Keys)
        {
            if (!_keys.TryGetValue(key, out var use))
                _keys[key] = use = new KeyUse();
            use.Running++;
        }
    }

    /// <summary>
    /// An admitted job started, holding <paramref name="held"/> with the limits its keys granted under. Returns jobs
    /// set aside that the limit now lets start (it was higher than assumed): they go back to their queues.
    /// </summary>
    public List<Parked> Granted(ImmutableArray<ConcurrencyKey> held)
    {
        var giveBack = new List<Parked>();
        if (held.IsDefaultOrEmpty)
            return giveBack;
        lock (_lock)
        {
            foreach (var key in held)
            {
                if (!_keys.TryGetValue(key.Key, out var use))
                    continue;
                use.Limit = key.Limit ?? int.MaxValue;
                for (var room = (long)use.Limit - use.Running; room > 0 && use.Parked is { Count: > 0 } parked; room--)
                    giveBack.Add(parked.Dequeue());
            }
        }
        return giveBack;
    }

    /// <summary>
    /// An admitted job has ended here, in any way (it ran, was refused, or failed to start). Returns the job set aside
    /// that is admitted in its place (it takes the ended job's slot), if any, and jobs set aside on a key that no job
    /// here holds any more, which go back to their queues (nothing here would free them).
    /// </summary>
    public (Parked? Next, List<Parked> GiveBack) Ended(ImmutableArray<string> keys)
    {
        if (keys.IsDefaultOrEmpty)
            return (null, []);
        lock (_lock)
            return EndedLocked(keys);
    }

    private (Parked? Next, List<Parked> GiveBack) EndedLocked(ImmutableArray<string> keys)
    {
        Parked? next = null;
        var giveBack = new List<Parked>();
        foreach (var key in keys)
        {
            if (_keys.TryGetValue(key, out var use))
                use.Running--;
        }
        foreach (var key in keys)
        {
            if (!_keys.TryGetValue(key, out var use))
                continue;
            // One that another of its keys holds back is set aside there (a key this silo fills, so not for long).
            while (next is null && use.Parked is { Count: > 0 } parked && use.Running < use.Limit)
            {
                var candidate = parked.Dequeue();
                if (AdmitLocked(candidate))
                    next = candidate;
            }
        }
        foreach (var key in keys)
        {
            if (!_keys.TryGetValue(key, out var use) || use.Running > 0)
                continue;
            if (use.Parked is { Count: > 0 } stranded)
                giveBack.AddRange(stranded.UnorderedItems.Select(i => i.Element));
            _keys.Remove(key);
        }
        return (next, giveBack);
    }

    /// <summary>
    /// An admitted job's handler has returned: when jobs are set aside for one of its keys, ends it (as
    /// <see cref="Ended"/>, whose results <paramref name="next"/> and <paramref name="giveBack"/> are) and returns true,
    /// so the next starts at once; otherwise changes nothing and returns false (the job keeps its keys here until its
    /// end is reported, so a job pulled meanwhile is set aside rather than refused by a key not yet released).
    /// </summary>
    public bool HandOff(ImmutableArray<string> keys, out Parked? next, out List<Parked> giveBack)
    {
        (next, giveBack) = (null, []);
        if (keys.IsDefaultOrEmpty)
            return false;
        lock (_lock)
        {
            if (!keys.Any(key => _keys.TryGetValue(key, out var use) && use.Parked is { Count: > 0 }))
                return false;
            (next, giveBack) = EndedLocked(keys);
            return true;
        }
    }

    private sealed class KeyUse
    {
        public int Running;
        // Until the key says (with its first grant here), a key's default: 1. A higher limit sends those set aside
        // meanwhile back to their queues at once (see Granted).
        public int Limit = 1;
        public PriorityQueue<Parked, (int, long, long)>? Parked;
    }
}
