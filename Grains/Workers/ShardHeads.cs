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
    // at equal priority, the tenant with the lowest pass goes first, wherever it waits at a head's level, so a tenant's
    // turn is not lost to older jobs of another elsewhere. Tenants the clock has caught up with are dropped.
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
    /// The shard to pull from next, or -1, the priority floor for pulling from it, (with fair share) the tenant whose
    /// job it should hand out first, and the most jobs to pull. The most urgent priority goes first; at that priority,
    /// with fair share, the tenant this silo has served least (by weight) among those heading or waiting behind the
    /// heads of every shard, then the smaller job, then the older. The floor is the best priority any other shard holds,
    /// so no job is taken ahead of a more urgent one elsewhere. Nothing is picked until every shard has answered once:
    /// one not heard from yet may hold more urgent jobs. The batch: with fair share and more than one tenant waiting at
    /// that priority in this silo's view, one round of the shard's turns (a job per tenant named at its head, more for
    /// a heavier one), so a tenant waiting elsewhere gets its turn after the next few starts, not after a whole batch of
    /// another tenant's jobs; otherwise no limit.
    /// </summary>
    /// <param name="allowed">Shards that may be pulled now; the others are skipped and do not set the floor.</param>
    public (int Shard, int Floor, string? Tenant, int Batch) PickPull(Func<int, bool>? allowed = null)
    {
        lock (_lock)
        {
            if (Array.IndexOf(_answered, false) >= 0)
                return (-1, 0, null, 0);
            var top = -1;
            for (var i = 0; i < _heads.Length; i++)
            {
                if (!_heads[i].IsEmpty && (allowed is null || allowed(i)))
                    top = Math.Max(top, _heads[i].TopPriority);
            }
            if (top < 0)
                return (-1, 0, null, 0);
            var best = -1;
            var next = default(Candidate);
            for (var i = 0; i < _heads.Length; i++)
            {
                var head = _heads[i];
                if (head.IsEmpty || head.TopPriority != top || (allowed is not null && !allowed(i)))
                    continue;
                Consider(i, new TenantHead(head.TopTenant, head.TopSizeHint, head.TopEnqueuedAtTicks));
                // A tenant waiting behind another's head is as near as the head: the shard hands it out when asked.
                if (weightOf is not null && !head.Behind.IsDefault)
                {
                    foreach (var behind in head.Behind)
                        Consider(i, behind);
                }
            }
            var floor = JobPriority.Min;
            for (var i = 0; i < _heads.Length; i++)
            {
                if (i != best && !_heads[i].IsEmpty && (allowed is null || allowed(i)))
                    floor = Math.Max(floor, _heads[i].TopPriority);
            }
            return (best, floor, weightOf is null ? null : next.Job.Tenant ?? JobRequest.DefaultTenant, RoundOf(best, top, allowed));

            void Consider(int shard, TenantHead job)
            {
                var candidate = new Candidate(job, weightOf is null ? 0 : PassOf(job.Tenant));
                if (best < 0 || candidate.IsBefore(next))
                {
                    best = shard;
                    next = candidate;
                }
            }
        }
    }

    /// <summary>
    /// One round of <paramref name="shard"/>'s turns at <paramref name="top"/>: each tenant named at its head counts
    /// its weight against the lightest tenant waiting at that priority anywhere (at least 1); no limit without fair
    /// share or with one tenant only. Called under the lock.
    /// </summary>
    private int RoundOf(int shard, int top, Func<int, bool>? allowed)
    {
        if (weightOf is null)
            return int.MaxValue;
        string? only = null;
        var several = false;
        var lightest = double.MaxValue;
        for (var i = 0; i < _heads.Length; i++)
        {
            var head = _heads[i];
            if (head.IsEmpty || head.TopPriority != top || (allowed is not null && !allowed(i)))
                continue;
            Note(head.TopTenant);
            if (!head.Behind.IsDefault)
            {
                foreach (var behind in head.Behind)
                    Note(behind.Tenant);
            }
        }
        if (!several)
            return int.MaxValue;
        var chosen = _heads[shard];
        var round = Share(chosen.TopTenant);
        if (!chosen.Behind.IsDefault)
        {
            foreach (var behind in chosen.Behind)
                round += Share(behind.Tenant);
        }
        return round;

        void Note(string? tenant)
        {
            tenant ??= JobRequest.DefaultTenant;
            several |= only is not null && only != tenant;
            only ??= tenant;
            lightest = Math.Min(lightest, weightOf(tenant));
        }

        int Share(string? tenant) => Math.Max(1, (int)Math.Round(weightOf(tenant ?? JobRequest.DefaultTenant) / lightest));
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

    /// <summary>A tenant's next job in one shard, and that tenant's pass here: the lower pass, then smaller, then older first.</summary>
    private readonly record struct Candidate(TenantHead Job, double Pass)
    {
        public bool IsBefore(Candidate other) =>
            Pass != other.Pass ? Pass < other.Pass
            : Job.SizeHint != other.Job.SizeHint ? Job.SizeHint < other.Job.SizeHint
            : Job.EnqueuedAtTicks < other.Job.EnqueuedAtTicks;
    }
}
