using System.Collections.Immutable;

namespace Scheduler.Queues;

/// <summary>
/// The waiting jobs of one shard: strict priority (higher first), then smaller size hint (workflows), then oldest
/// first, then arrival order.
/// A job id is held at most once. Not thread-safe: the shard grain owns it.
/// </summary>
public sealed class ShardQueue
{
    private readonly SortedSet<Key> _order = new(KeyComparer.Instance);
    private readonly Dictionary<JobId, Key> _byId = [];
    // Waiting jobs per (priority, tenant), kept as entries come and go, for the queue depth metric.
    private readonly Dictionary<(int Priority, string? Tenant), int> _counts = [];
    private long _sequence;

    public int Count => _order.Count;

    /// <summary>The most urgent entry, or null when empty.</summary>
    public QueueEntry? Peek => _order.Count == 0 ? null : ToEntry(_order.Min);

    /// <summary>Adds the entry; false when that job is already waiting.</summary>
    public bool Add(QueueEntry entry)
    {
        if (_byId.ContainsKey(entry.Id))
            return false;
        var key = new Key(entry.Priority, entry.SizeHint, entry.EnqueuedAtTicks, ++_sequence, entry.Id, entry.Tenant);
        _byId.Add(entry.Id, key);
        _order.Add(key);
        Tally(key, +1);
        return true;
    }

    public bool Remove(JobId id)
    {
        if (!_byId.Remove(id, out var key))
            return false;
        _order.Remove(key);
        Tally(key, -1);
        return true;
    }

    /// <summary>Takes up to <paramref name="max"/> entries in order, stopping at the first below <paramref name="minPriority"/>.</summary>
    public ImmutableArray<QueueEntry> Take(int max, int minPriority)
    {
        var taken = ImmutableArray.CreateBuilder<QueueEntry>(Math.Max(0, Math.Min(max, _order.Count)));
        while (taken.Count < max && _order.Count > 0)
        {
            var top = _order.Min;
            if (top.Priority < minPriority)
                break;
            _order.Remove(top);
            _byId.Remove(top.Id);
            Tally(top, -1);
            taken.Add(ToEntry(top));
        }
        return taken.DrainToImmutable();
    }

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

    private void Tally(Key key, int delta)
    {
        ref var count = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_counts, (key.Priority, key.Tenant), out _);
        count += delta;
        if (count == 0)
            _counts.Remove((key.Priority, key.Tenant));
    }

    private static QueueEntry ToEntry(Key key) => new(key.Id, key.Priority, key.EnqueuedAtTicks, key.SizeHint, key.Tenant);

    private readonly record struct Key(int Priority, long SizeHint, long EnqueuedAtTicks, long Sequence, JobId Id, string? Tenant);

    private sealed class KeyComparer : IComparer<Key>
    {
        public static readonly KeyComparer Instance = new();

        public int Compare(Key x, Key y)
        {
            var c = y.Priority.CompareTo(x.Priority);
            if (c != 0) return c;
            c = x.SizeHint.CompareTo(y.SizeHint);
            if (c != 0) return c;
            c = x.EnqueuedAtTicks.CompareTo(y.EnqueuedAtTicks);
            return c != 0 ? c : x.Sequence.CompareTo(y.Sequence);
        }
    }
}
