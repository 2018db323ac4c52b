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
    private long _sequence;

    public int Count => _order.Count;

    /// <summary>The most urgent entry, or null when empty.</summary>
    public QueueEntry? Peek => _order.Count == 0 ? null : ToEntry(_order.Min);

    /// <summary>Adds the entry; false when that job is already waiting.</summary>
    public bool Add(QueueEntry entry)
    {
        if (_byId.ContainsKey(entry.Id))
            return false;
        var key = new Key(entry.Priority, entry.SizeHint, entry.EnqueuedAtTicks, ++_sequence, entry.Id);
        _byId.Add(entry.Id, key);
        _order.Add(key);
        return true;
    }

    public bool Remove(JobId id)
    {
        if (!_byId.Remove(id, out var key))
            return false;
        _order.Remove(key);
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
            taken.Add(ToEntry(top));
        }
        return taken.DrainToImmutable();
    }

    private static QueueEntry ToEntry(Key key) => new(key.Id, key.Priority, key.EnqueuedAtTicks, key.SizeHint);

    private readonly record struct Key(int Priority, long SizeHint, long EnqueuedAtTicks, long Sequence, JobId Id);

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
