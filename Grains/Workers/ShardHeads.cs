namespace Scheduler.Workers;

/// <summary>
/// The head of every watched shard as this silo last saw it, and which shard to pull from next. Thread-safe: the
/// shards' watchers and the puller share it.
/// </summary>
/// <param name="weightOf">
/// Tenant weights for choosing between shards whose heads have equal priority (docs/queues.md); null: by age only.
/// </param>
internal sealed class ShardHeads(int count, Func<string, double>? weightOf = null)
{
    private readonly object _lock = new();
    // Stride passes of the tenants this silo started jobs of, as each shard keeps them for its own jobs: between shards
    // at equal priority, the head of the tenant with the lowest pass goes first, so a shard's fair turn is not lost to
    // an older head elsewhere. Tenants the clock has caught up with are dropped.
    private readonly Dictionary<string, double> _passes = new(StringComparer.Ordinal);
    private double _clock;
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
    /// The shard whose head is most urgent (priority, then tenant turn, size and age), or -1, and the priority floor for pulling from it:
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
                    || (head.TopPriority == _heads[best].TopPriority && IsTurnBefore(head, _heads[best])))
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

    /// <summary>This silo took <paramref name="entries"/>: their tenants' passes move on.</summary>
    public void Served(IReadOnlyList<QueueEntry> entries)
    {
        if (weightOf is null)
            return;
        lock (_lock)
        {
            foreach (var entry in entries)
            {
                var tenant = entry.Tenant ?? JobRequest.DefaultTenant;
                var pass = PassOf(tenant);
                _clock = Math.Max(_clock, pass);
                _passes[tenant] = pass + 1 / weightOf(tenant);
            }
            if (_passes.Count > 1_000)
            {
                foreach (var idle in _passes.Where(p => p.Value <= _clock).Select(p => p.Key).ToList())
                    _passes.Remove(idle);
            }
        }
    }

    private double PassOf(string? tenant) =>
        _passes.TryGetValue(tenant ?? JobRequest.DefaultTenant, out var pass) && pass > _clock ? pass : _clock;

    /// <summary>At equal priority: the lower tenant pass first (with fair share), then the smaller, then the older head.</summary>
    private bool IsTurnBefore(ShardHead head, ShardHead other)
    {
        if (weightOf is not null && head.TopTenant != other.TopTenant)
        {
            var c = PassOf(head.TopTenant).CompareTo(PassOf(other.TopTenant));
            if (c != 0)
                return c < 0;
        }
        return head.TopSizeHint != other.TopSizeHint ? head.TopSizeHint < other.TopSizeHint : head.TopEnqueuedAtTicks < other.TopEnqueuedAtTicks;
    }
}
