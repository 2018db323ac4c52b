namespace Scheduler.Workers;

/// <summary>
/// The head of every watched shard as this silo last saw it, and which shard to pull from next. Thread-safe: the
/// shards' watchers and the puller share it.
/// </summary>
internal sealed class ShardHeads(int count)
{
    private readonly object _lock = new();
    // The newest head seen per shard; the default (epoch 0) means "unknown", which every real head replaces.
    private readonly ShardHead[] _heads = new ShardHead[count];
    private readonly bool[] _answered = new bool[count];

    public ShardHead this[int shard]
    {
        get
        {
            lock (_lock)
                return _heads[shard];
        }
    }

    /// <summary>
    /// Keeps the newest head: pull and watch answers for one shard can arrive out of order, and an older "empty"
    /// must not overwrite a newer "non-empty" (see <see cref="ShardHead.Supersedes"/>).
    /// </summary>
    public void Observe(int shard, ShardHead head)
    {
        lock (_lock)
        {
            _answered[shard] = true;
            if (head.Supersedes(_heads[shard]))
                _heads[shard] = head;
        }
    }

    /// <summary>
    /// A call to the shard failed: it may come back as a new activation, so ask it afresh. Once its watch has failed
    /// it also counts as answered, so pulling from the other shards does not wait for it.
    /// </summary>
    public void Forget(int shard, bool watchFailed)
    {
        lock (_lock)
        {
            _heads[shard] = default;
            _answered[shard] |= watchFailed;
        }
    }

    /// <summary>
    /// The shard whose head is most urgent (priority, then age), or -1, and the priority floor for pulling from it:
    /// the best priority any other shard holds, so no job is taken ahead of a more urgent one elsewhere. Nothing is
    /// picked until every shard has answered once: one not heard from yet may hold more urgent jobs.
    /// </summary>
    /// <param name="allowed">Shards that may be pulled now; the others are skipped and do not set the floor.</param>
    public (int Shard, int Floor) Pick(Func<int, bool>? allowed = null)
    {
        lock (_lock)
        {
            if (Array.IndexOf(_answered, false) >= 0)
                return (-1, 0);
            var best = -1;
            for (var i = 0; i < _heads.Length; i++)
            {
                var head = _heads[i];
                if (head.IsEmpty || (allowed is not null && !allowed(i)))
                    continue;
                if (best < 0 || head.TopPriority > _heads[best].TopPriority
                    || (head.TopPriority == _heads[best].TopPriority && head.TopEnqueuedAtTicks < _heads[best].TopEnqueuedAtTicks))
                    best = i;
            }
            if (best < 0)
                return (-1, 0);
            var floor = JobPriority.Min;
            for (var i = 0; i < _heads.Length; i++)
            {
                if (i != best && !_heads[i].IsEmpty && (allowed is null || allowed(i)))
                    floor = Math.Max(floor, _heads[i].TopPriority);
            }
            return (best, floor);
        }
    }
}
