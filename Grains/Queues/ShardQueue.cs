using System.Collections.Immutable;

namespace Scheduler.Queues;

/// <summary>
/// The waiting jobs of one shard (docs/queues.md). Strict priority between levels; within a level, tenants take turns
/// by weight (stride scheduling: each start moves its tenant's pass on by 1/weight, the lowest pass goes next, and a
/// tenant that becomes active joins at the level's current pass, so idle time earns no credit); within a tenant,
/// smaller size hint first, then oldest, then arrival order. With aging, a level competes with the priority its
/// oldest job has aged to. A job id is held at most once. Not thread-safe: the shard grain owns it.
/// </summary>
public sealed class ShardQueue
{
    private readonly QueueOrdering _ordering;
    private readonly TimeProvider _time;
    private readonly Dictionary<JobId, Item> _byId = [];
    private readonly Level?[] _levels = new Level?[JobPriority.Max + 1];
    // Non-empty levels, highest first.
    private readonly SortedSet<int> _active = new(Comparer<int>.Create(static (x, y) => y.CompareTo(x)));
    // Waiting jobs per (priority, tenant), kept as entries come and go, for the queue depth metric.
    private readonly Dictionary<(int Priority, string? Tenant), int> _counts = [];
    // One string per tenant for all its waiting entries: a backlog read from rows or messages would otherwise hold a
    // copy per job (about a sixth of an entry's memory).
    private readonly Dictionary<string, (string Tenant, int Count)> _tenantNames = new(StringComparer.Ordinal);
    private long _sequence;

    /// <summary>A queue with fair share on, equal weights and no aging.</summary>
    public ShardQueue() : this(QueueOrdering.Default, TimeProvider.System)
    {
    }

    public ShardQueue(QueueOrdering ordering, TimeProvider time)
    {
        _ordering = ordering;
        _time = time;
    }

    public int Count => _byId.Count;

    /// <summary>The entry <see cref="Take"/> would hand out next, or null when empty.</summary>
    public QueueEntry? Peek => PickLevel() is { } level ? level.Level.Peek().Entry : null;

    /// <summary>The priority the next entry competes with (its level's, raised by aging), or 0 when empty.</summary>
    public int TopPriority => PickLevel()?.Effective ?? 0;

    /// <summary>
    /// The other tenants waiting at <see cref="Peek"/>'s level, in turn order, at most <paramref name="max"/>, each with
    /// the job it would hand out next; empty without fair share or with one tenant.
    /// </summary>
    public ImmutableArray<TenantHead> Behind(int max) =>
        _ordering.FairShare && PickLevel() is { } pick ? pick.Level.Behind(max) : [];

    /// <summary>True when the job waits here.</summary>
    public bool Contains(JobId id) => _byId.ContainsKey(id);

    /// <summary>Adds the entry; false when that job is already waiting.</summary>
    public bool Add(QueueEntry entry)
    {
        if (_byId.ContainsKey(entry.Id))
            return false;
        if (entry.Tenant is { } name)
        {
            ref var shared = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_tenantNames, name, out var known);
            shared = (known ? shared.Tenant : name, shared.Count + 1);
            entry = entry with { Tenant = shared.Tenant };
        }
        var priority = Math.Clamp(entry.Priority, JobPriority.Min, JobPriority.Max);
        var level = _levels[priority] ??= new Level(_ordering);
        var item = new Item(entry, ++_sequence);
        _byId.Add(entry.Id, item);
        if (level.Count == 0)
            _active.Add(priority);
        level.Add(item, LineOf(entry), ref _sequence);
        Tally(entry, +1);
        return true;
    }

    public bool Remove(JobId id)
    {
        if (!_byId.Remove(id, out var item))
            return false;
        var priority = Math.Clamp(item.Entry.Priority, JobPriority.Min, JobPriority.Max);
        var level = _levels[priority]!;
        level.Remove(item);
        if (level.Count == 0)
            _active.Remove(priority);
        Tally(item.Entry, -1);
        return true;
    }

    /// <summary>
    /// Moves a waiting job to <paramref name="priority"/>, keeping its age and size; false when it does not wait here.
    /// Among its tenant's jobs at the new level it takes its place by size and age, as if it had always been there.
    /// </summary>
    public bool ChangePriority(JobId id, int priority)
    {
        if (!_byId.TryGetValue(id, out var item))
            return false;
        Remove(id);
        Add(item.Entry with { Priority = priority });
        return true;
    }

    /// <summary>
    /// Takes up to <paramref name="max"/> entries in order, stopping at the first whose priority (raised by aging) is
    /// below <paramref name="minPriority"/>. With <paramref name="first"/> set and fair share on, that tenant's next
    /// entry at the first level taken goes first (its turn moves on as if it had been its turn).
    /// </summary>
    public ImmutableArray<QueueEntry> Take(int max, int minPriority, string? first = null)
    {
        var taken = ImmutableArray.CreateBuilder<QueueEntry>(Math.Max(0, Math.Min(max, Count)));
        var tenant = _ordering.FairShare && first is not null ? first : null;
        while (taken.Count < max && PickLevel() is { } pick && pick.Effective >= minPriority)
        {
            var item = pick.Level.TakeNext(taken.Count == 0 ? tenant : null);
            _byId.Remove(item.Entry.Id);
            if (pick.Level.Count == 0)
                _active.Remove(pick.Priority);
            Tally(item.Entry, -1);
            taken.Add(item.Entry);
        }
        return taken.DrainToImmutable();
    }

    /// <summary>
    /// About where among the waiting jobs the last of <paramref name="entries"/> (which wait here) starts, 1 being next:
    /// after the higher levels' jobs, and at its level after the turns until its tenant's jobs are through (each other
    /// tenant's jobs whose turns come first, by weight; without fair share, the whole level). Aging is left out. Counts
    /// no further than <paramref name="cap"/>, so a level of many tenants costs at most that many steps.
    /// </summary>
    public int PlaceOfLast(IReadOnlyList<QueueEntry> entries, int cap)
    {
        var place = 0;
        (int Priority, string Tenant) last = (-1, "");
        foreach (var entry in entries)
        {
            var at = (Math.Clamp(entry.Priority, JobPriority.Min, JobPriority.Max), LineOf(entry));
            if (at == last)
                continue;
            last = at;
            var ahead = 0;
            foreach (var priority in _active)
            {
                if (priority <= at.Item1 || ahead >= cap)
                    break;
                ahead += _levels[priority]!.Count;
            }
            place = Math.Max(place, ahead >= cap ? cap : ahead + (_levels[at.Item1]?.PlaceOfLast(at.Item2, cap - ahead) ?? 0));
            if (place >= cap)
                return cap;
        }
        return place;
    }

    private string LineOf(QueueEntry entry) => _ordering.FairShare ? entry.Tenant ?? JobRequest.DefaultTenant : "";

    /// <summary>
    /// The waiting jobs by priority and tenant: at most <see cref="WaitingCount.MaxGroups"/> groups, the largest; the
    /// rest summed per priority under a null tenant.
    /// </summary>
    public ImmutableArray<WaitingCount> Waiting()
    {
        if (_counts.Count <= WaitingCount.MaxGroups)
            return [.. _counts.Select(kv => new WaitingCount(kv.Key.Priority, kv.Key.Tenant, kv.Value))];
        var ordered = _counts.OrderByDescending(kv => kv.Value).ToList();
        var named = ordered.Take(WaitingCount.MaxGroups - JobPriority.Max - 1).Select(kv => new WaitingCount(kv.Key.Priority, kv.Key.Tenant, kv.Value));
        var rest = ordered.Skip(WaitingCount.MaxGroups - JobPriority.Max - 1).GroupBy(kv => kv.Key.Priority)
            .Select(g => new WaitingCount(g.Key, null, g.Sum(kv => kv.Value)));
        return [.. named, .. rest];
    }

    /// <summary>
    /// Every waiting job as (priority, tenant, enqueue ticks); null tenant: enqueued without one, the default tenant.
    /// Walks the whole queue: for an operator's overview, not for the dispatch path.
    /// </summary>
    public IEnumerable<(int Priority, string? Tenant, long EnqueuedAtTicks)> Entries =>
        _byId.Values.Select(static i => (i.Entry.Priority, i.Entry.Tenant, i.Entry.EnqueuedAtTicks));

    private void Tally(QueueEntry entry, int delta)
    {
        if (delta < 0 && entry.Tenant is { } name && _tenantNames.TryGetValue(name, out var shared))
        {
            if (shared.Count <= 1)
                _tenantNames.Remove(name);
            else
                _tenantNames[name] = (shared.Tenant, shared.Count - 1);
        }
        ref var count = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_counts, (entry.Priority, entry.Tenant), out _);
        count += delta;
        if (count == 0)
            _counts.Remove((entry.Priority, entry.Tenant));
    }

    /// <summary>
    /// The level to serve next: the highest, or with aging the one whose priority raised by its oldest job's wait is
    /// highest (at a tie, the one whose oldest job has waited longer, so an aged job is not passed over again).
    /// </summary>
    private (Level Level, int Priority, int Effective)? PickLevel()
    {
        if (_active.Count == 0)
            return null;
        var top = _active.Min;
        if (_ordering.Aging is not { } aging)
            return (_levels[top]!, top, top);
        var now = _time.GetUtcNow().UtcTicks;
        (Level Level, int Priority, int Effective, long Oldest)? best = null;
        foreach (var priority in _active)
        {
            // Levels come highest first and aging adds at most MaxBoost: lower ones cannot win.
            if (best is { } b && priority + aging.MaxBoost < b.Effective)
                break;
            var level = _levels[priority]!;
            var oldest = level.OldestTicks;
            var effective = aging.Raise(priority, now - oldest);
            if (best is not { } current || effective > current.Effective || (effective == current.Effective && oldest < current.Oldest))
                best = (level, priority, effective, oldest);
        }
        return best is { } chosen ? (chosen.Level, chosen.Priority, chosen.Effective) : null;
    }

    private sealed class Item(QueueEntry entry, long sequence)
    {
        public QueueEntry Entry { get; } = entry;
        public long Sequence { get; } = sequence;
        public Turn? Turn { get; set; }
    }

    /// <summary>One priority level: its tenants' turns and, with aging, its jobs by age.</summary>
    private sealed class Level(QueueOrdering ordering)
    {
        private readonly Dictionary<string, Turn> _tenants = new(StringComparer.Ordinal);
        private readonly SortedSet<Turn> _turns = new(TurnComparer.Instance);
        private readonly SortedSet<Item>? _byAge = ordering.Aging is null ? null : new(AgeComparer.Instance);
        // The pass of the latest turn served: a tenant that becomes active starts from here.
        private double _clock;

        public int Count { get; private set; }

        public long OldestTicks => _byAge!.Min!.Entry.EnqueuedAtTicks;

        public void Add(Item item, string tenant, ref long sequence)
        {
            if (!_tenants.TryGetValue(tenant, out var turn))
                _tenants[tenant] = turn = new Turn(tenant, 1 / ordering.WeightOf(tenant));
            if (turn.Jobs.Count == 0)
            {
                turn.Pass = Math.Max(turn.Pass, _clock);
                turn.Joined = ++sequence;
                turn.Jobs.Add(item);
                _turns.Add(turn);
            }
            else
            {
                turn.Jobs.Add(item);
            }
            item.Turn = turn;
            _byAge?.Add(item);
            Count++;
        }

        public Item Peek() => _turns.Min!.Jobs.Min!;

        /// <summary>
        /// The place of <paramref name="tenant"/>'s last job among this level's, at most <paramref name="cap"/>: after its
        /// own, and each other tenant's whose passes come before that job's.
        /// </summary>
        public int PlaceOfLast(string tenant, int cap)
        {
            if (!_tenants.TryGetValue(tenant, out var own) || own.Jobs.Count == 0)
                return 0;
            var lastPass = own.Pass + (own.Jobs.Count - 1) * own.Stride;
            var place = 0;
            foreach (var turn in _turns)
            {
                place += turn == own ? own.Jobs.Count
                    : (int)Math.Clamp(Math.Floor((lastPass - turn.Pass) / turn.Stride) + 1, 0, turn.Jobs.Count);
                if (place >= cap)
                    return cap;
            }
            return place;
        }

        public ImmutableArray<TenantHead> Behind(int max)
        {
            if (_turns.Count < 2 || max <= 0)
                return [];
            var behind = ImmutableArray.CreateBuilder<TenantHead>(Math.Min(max, _turns.Count - 1));
            foreach (var turn in _turns.Skip(1).Take(max))
            {
                var next = turn.Jobs.Min!.Entry;
                behind.Add(new TenantHead(next.Tenant, next.SizeHint, next.EnqueuedAtTicks));
            }
            return behind.MoveToImmutable();
        }

        /// <param name="tenant">Take this tenant's next job if it has one here, else the one whose turn it is.</param>
        public Item TakeNext(string? tenant = null)
        {
            var turn = tenant is not null && _tenants.TryGetValue(tenant, out var chosen) && chosen.Jobs.Count > 0 ? chosen : _turns.Min!;
            _turns.Remove(turn);
            var item = turn.Jobs.Min!;
            turn.Jobs.Remove(item);
            _byAge?.Remove(item);
            Count--;
            _clock = Math.Max(_clock, turn.Pass);
            turn.Pass += turn.Stride;
            if (turn.Jobs.Count > 0)
                _turns.Add(turn);
            else
                Retire(turn);
            return item;
        }

        public void Remove(Item item)
        {
            var turn = item.Turn!;
            _byAge?.Remove(item);
            Count--;
            if (turn.Jobs.Count == 1)
            {
                _turns.Remove(turn);
                turn.Jobs.Remove(item);
                Retire(turn);
            }
            else
            {
                // A turn's place depends on its pass only, not on its jobs: it stays where it is.
                turn.Jobs.Remove(item);
            }
        }

        /// <summary>
        /// A tenant with no job left here: its pass is kept while it is ahead of the clock (so emptying and refilling
        /// its line gains it nothing); once the clock has caught up it is forgotten, which bounds the dictionary.
        /// </summary>
        private void Retire(Turn turn)
        {
            if (turn.Pass <= _clock)
                _tenants.Remove(turn.Tenant);
            if (_tenants.Count > 64 && _tenants.Count > 2 * _turns.Count)
            {
                foreach (var idle in _tenants.Values.Where(t => t.Jobs.Count == 0 && t.Pass <= _clock).ToList())
                    _tenants.Remove(idle.Tenant);
            }
        }
    }

    /// <summary>One tenant's jobs at one level: smaller size hint first, then older, then arrival order.</summary>
    private sealed class Turn(string tenant, double stride)
    {
        public string Tenant { get; } = tenant;
        public double Stride { get; } = stride;
        public double Pass { get; set; }
        public long Joined { get; set; }
        public SortedSet<Item> Jobs { get; } = new(JobComparer.Instance);
    }

    private sealed class TurnComparer : IComparer<Turn>
    {
        public static readonly TurnComparer Instance = new();

        public int Compare(Turn? x, Turn? y)
        {
            var c = x!.Pass.CompareTo(y!.Pass);
            return c != 0 ? c : x.Joined.CompareTo(y.Joined);
        }
    }

    private sealed class JobComparer : IComparer<Item>
    {
        public static readonly JobComparer Instance = new();

        public int Compare(Item? x, Item? y)
        {
            var c = x!.Entry.SizeHint.CompareTo(y!.Entry.SizeHint);
            if (c != 0) return c;
            c = x.Entry.EnqueuedAtTicks.CompareTo(y.Entry.EnqueuedAtTicks);
            return c != 0 ? c : x.Sequence.CompareTo(y.Sequence);
        }
    }

    private sealed class AgeComparer : IComparer<Item>
    {
        public static readonly AgeComparer Instance = new();

        public int Compare(Item? x, Item? y)
        {
            var c = x!.Entry.EnqueuedAtTicks.CompareTo(y!.Entry.EnqueuedAtTicks);
            return c != 0 ? c : x.Sequence.CompareTo(y.Sequence);
        }
    }
}
