using System.Collections.Immutable;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Scheduler.Storage;

namespace Scheduler.Queues;

/// <summary>
/// One shard of a queue, in memory; on activation it reloads its Queued and Running jobs from the job rows. It
/// queues again the jobs a dead silo took or a live one does not hold; their job grains decide whether they may run
/// (docs/design.md, "Liveness").
/// </summary>
public sealed partial class QueueShardGrain(
    IJobStore store,
    IClusterMembershipService membership,
    IOptions<SchedulerOptions> options,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILogger<QueueShardGrain> logger) : Grain, IQueueShardGrain
{
    /// <summary>Longest a watch waits once this silo is stopping, so the shard's deactivation is not held up.</summary>
    private static readonly TimeSpan StoppingWait = TimeSpan.FromSeconds(1);

    private ShardQueue _queue = new();

    // Pulled and not yet acknowledged, with the silo that took them and the number of its pull.
    private readonly Dictionary<JobId, (QueueEntry Entry, SiloAddress Silo, long Pull)> _inFlight = [];
    // Handed out when a reload asked for them (see Reload): offered again once acknowledged.
    private readonly HashSet<JobId> _offerAgain = [];
    private ShardHead _head;
    private TaskCompletionSource? _headChanged;
    private string _queueName = "";
    private int _shardIndex;

    // The rebuild from the rows, a page per timer tick (see LoadNextPageAsync): where the next page starts, null once
    // every row has been read. While rows remain unread, nothing below _floor (the last row's priority) is handed
    // out: an unread row may outrank it.
    private OpenRowPosition? _loadAfter;
    private int _floor;
    private IGrainTimer? _loader;
    private bool _rereadWhenLoaded;
    private long _loaded;
    private long _loadStarted;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // A later activation always has a larger epoch, so watchers can tell its heads from a former one's.
        _head = new ShardHead(1, 0, 0, 0, time.GetUtcNow().UtcTicks);
        var key = this.GetPrimaryKeyString();
        var slash = key.LastIndexOf('/');
        _queueName = key[..slash];
        _shardIndex = int.Parse(key[(slash + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        var ordering = options.Value.Ordering.For(_queueName);
        _queue = new ShardQueue(ordering, time);
        // The most urgent rows first, then the rest as a stream (a page per tick, between the calls it serves): a
        // shard with a large backlog serves its head at once instead of after reading everything.
        _loadStarted = time.GetTimestamp();
        await LoadPageAsync(null, cancellationToken);
        UpdateHead();
        LogActivated(logger, key, _queue.Count, _loadAfter is not null);
        this.RegisterGrainTimer(static (self, _) => self.RequeueFromDeadSilos(), this,
            new GrainTimerCreationOptions { DueTime = options.Value.LeaseCheckInterval, Period = options.Value.LeaseCheckInterval });
        if (ordering.Aging is { } aging)
        {
            // Aging raises the head's priority with time alone: look about once per point gained, so pools that
            // chose another shard by the older head learn of it.
            var step = TimeSpan.FromMinutes(1 / aging.PointsPerMinute);
            step = step < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : step > TimeSpan.FromMinutes(1) ? TimeSpan.FromMinutes(1) : step;
            this.RegisterGrainTimer(static self => { self.UpdateHead(); return Task.CompletedTask; }, this,
                new GrainTimerCreationOptions { DueTime = step, Period = step });
        }
    }

    /// <summary>
    /// Reads the page of open rows after <paramref name="after"/> into the queue, and arms the loader for the next one
    /// (or stops it after the last). Rows of jobs handed out meanwhile are skipped: their grains decide.
    /// </summary>
    private async Task LoadPageAsync(OpenRowPosition? after, CancellationToken cancellationToken)
    {
        // Delayed jobs due later than a job grain's timer reaches are left to their reminders.
        var page = await store.LoadOpenPageAsync(_queueName, _shardIndex, time.GetUtcNow() + Jobs.JobGrain.DueTimerHorizon, after,
            OpenRowsPage.DefaultSize, cancellationToken);
        foreach (var entry in page.Entries)
        {
            if (!_inFlight.ContainsKey(entry.Id))
                _queue.Add(entry);
        }
        _loaded += page.Entries.Count;
        _loadAfter = page.Next;
        if (page.Next is { } next)
        {
            _floor = next.Priority;
            _loader ??= this.RegisterGrainTimer(static (self, ct) => self.LoadNextPageAsync(ct), this,
                new GrainTimerCreationOptions { DueTime = TimeSpan.Zero, Period = TimeSpan.FromMilliseconds(1) });
            return;
        }
        _floor = 0;
        _loader?.Dispose();
        _loader = null;
        if (_loaded > OpenRowsPage.DefaultSize)
            LogLoaded(logger, this.GetPrimaryKeyString(), _loaded, time.GetElapsedTime(_loadStarted).TotalMilliseconds);
        if (_rereadWhenLoaded)
        {
            // A priority changed for a job not read yet: its row may have moved ahead of the pages read. Once more from
            // the start (jobs already here are kept once).
            _rereadWhenLoaded = false;
            _loaded = 0;
            await LoadPageAsync(null, cancellationToken);
        }
    }

    /// <summary>One page per tick, so the calls the shard serves go between pages.</summary>
    private async Task LoadNextPageAsync(CancellationToken cancellationToken)
    {
        if (_loadAfter is not { } after)
            return;
        try
        {
            await LoadPageAsync(after, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The next tick reads the same page again.
            LogLoadFailed(logger, e, this.GetPrimaryKeyString());
            return;
        }
        // A level the floor held back wakes the watchers as the shard turning non-empty does.
        UpdateHead(enqueued: true);
    }

    public Task<int> Enqueue(ImmutableArray<QueueEntry> entries)
    {
        foreach (var entry in entries)
            _queue.Add(entry);
        UpdateHead(enqueued: true);
        return Task.FromResult(_queue.PlaceOfLast(entries, Jobs.JobSubmitter.DeepShard));
    }

    public Task<PullResult> Pull(int max, int minPriority, SiloAddress silo, long pull, string? tenant)
    {
        var taken = _queue.Take(max, Math.Max(minPriority, _floor), tenant);
        foreach (var entry in taken)
            _inFlight[entry.Id] = (entry, silo, pull);
        UpdateHead();
        return Task.FromResult(new PullResult(taken, _head));
    }

    public Task Ack(ImmutableArray<JobId> ids)
    {
        var again = false;
        foreach (var id in ids)
        {
            if (_inFlight.Remove(id, out var taken) && _offerAgain.Count > 0 && _offerAgain.Remove(id))
                again |= _queue.Add(taken.Entry);
        }
        if (again)
            UpdateHead();
        return Task.CompletedTask;
    }

    public Task Return(ImmutableArray<JobId> ids)
    {
        RequeueInFlight(ids);
        return Task.CompletedTask;
    }

    public Task<HeldReportAnswer> RequeueUnheld(SiloAddress silo, long settledPull, ImmutableArray<JobId> held)
    {
        var holds = held.ToHashSet();
        var lost = RequeueInFlight([.. _inFlight
            .Where(kv => kv.Value.Silo.Equals(silo) && kv.Value.Pull <= settledPull && !holds.Contains(kv.Key))
            .Select(kv => kv.Key)]);
        if (lost > 0)
            LogNotHeld(logger, this.GetPrimaryKeyString(), lost, silo);
        return Task.FromResult(new HeldReportAnswer(lost, _queue.Waiting()));
    }

    /// <summary>Jobs taken by a silo that has since died go back to the queue.</summary>
    private Task RequeueFromDeadSilos()
    {
        if (_inFlight.Count == 0)
            return Task.CompletedTask;
        var snapshot = membership.CurrentSnapshot;
        var orphans = RequeueInFlight([.. _inFlight
            .Where(kv => snapshot.GetSiloStatus(kv.Value.Silo) == SiloStatus.Dead)
            .Select(kv => kv.Key)]);
        if (orphans > 0)
            LogRequeuedFromDeadSilos(logger, this.GetPrimaryKeyString(), orphans);
        return Task.CompletedTask;
    }

    /// <summary>Puts jobs handed out earlier back in the queue (those still counted as handed out); returns how many.</summary>
    private int RequeueInFlight(IReadOnlyList<JobId> ids)
    {
        var count = 0;
        foreach (var id in ids)
        {
            if (_inFlight.Remove(id, out var taken))
            {
                _offerAgain.Remove(id);
                _queue.Add(taken.Entry);
                count++;
            }
        }
        UpdateHead(enqueued: count > 0);
        return count;
    }

    public async Task<int> Reload()
    {
        // Every page in this call (the caller wants the jobs back before it answers), the queue growing as they come.
        var added = 0;
        OpenRowPosition? after = null;
        do
        {
            var page = await store.LoadOpenPageAsync(_queueName, _shardIndex, time.GetUtcNow() + Jobs.JobGrain.DueTimerHorizon, after,
                OpenRowsPage.DefaultSize);
            foreach (var entry in page.Entries)
            {
                // One handed out may be on its way to being held (its acknowledgement not here yet): offered again once
                // it is acknowledged. One that runs costs a refused offer then.
                if (_inFlight.ContainsKey(entry.Id))
                    _offerAgain.Add(entry.Id);
                else if (_queue.Add(entry))
                    added++;
            }
            after = page.Next;
        }
        while (after is not null);
        if (_loadAfter is not null)
        {
            // Every row is read now: the rebuild in progress has nothing left to do.
            _loadAfter = null;
            _floor = 0;
            _loader?.Dispose();
            _loader = null;
        }
        _rereadWhenLoaded = false;
        UpdateHead(enqueued: true);
        return added;
    }

    public Task<bool> Remove(JobId id)
    {
        var removed = _queue.Remove(id);
        UpdateHead();
        return Task.FromResult(removed);
    }

    public Task<bool> ChangePriority(JobId id, int priority)
    {
        if (!JobPriority.IsValid(priority))
            throw new ArgumentOutOfRangeException(nameof(priority), priority, JobPriority.RangeProblem(priority));
        var changed = _queue.ChangePriority(id, priority);
        if (!changed && _inFlight.TryGetValue(id, out var taken))
        {
            // Handed out but not started yet: should it come back, it comes back at its new priority.
            _inFlight[id] = taken with { Entry = taken.Entry with { Priority = priority } };
        }
        else if (!changed && _loadAfter is not null)
        {
            // Not read yet, and its row (already at the new priority) may now sort ahead of the pages read.
            _rereadWhenLoaded = true;
        }
        UpdateHead();
        return Task.FromResult(changed);
    }

    public async Task<ShardHead> WatchHead(ShardHead known, TimeSpan maxWait)
    {
        if (!_head.IsSameVersion(known) || maxWait <= TimeSpan.Zero)
            return _head;
        _headChanged ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // A pending watch holds the activation open: once the silo is stopping, watches answer at once (later ones
        // wait briefly), so the shard deactivates and moves without waiting out every long poll.
        var stopping = lifetime.ApplicationStopping;
        try
        {
            if (stopping.IsCancellationRequested)
                await _headChanged.Task.WaitAsync(maxWait < StoppingWait ? maxWait : StoppingWait);
            else
                await _headChanged.Task.WaitAsync(maxWait, stopping);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
        }
        return _head;
    }

    public Task<ShardSnapshot> Snapshot() => Task.FromResult(new ShardSnapshot(
        QueueOverviews.Group(_queue.Entries),
        QueueOverviews.Group(_inFlight.Values.Select(v => (v.Entry.Priority, v.Entry.Tenant, v.Entry.EnqueuedAtTicks))),
        _loadAfter is not null));

    /// <summary>
    /// Bumps the version, waking the watchers, only when a pool would now pull where it did not before: the shard
    /// went from empty to holding jobs, or its top priority rose. A shard that empties or whose top priority falls
    /// keeps its version: a pool still believing the older head pulls once for nothing and learns the new head from
    /// that answer, which costs less than waking every silo's watcher twice for each job at low rates.
    /// </summary>
    /// <param name="enqueued">
    /// New jobs arrived: a new tenant's or a smaller job at the head, or a tenant new to those waiting behind it, at
    /// equal priority, wakes the watchers too, so pools choosing between shards by tenant turn and size see it (pulls
    /// alone keep the version: the puller gets the new head in its answer).
    /// </param>
    private void UpdateHead(bool enqueued = false)
    {
        var top = _queue.Peek;
        // With aging, the head's priority is its level's as raised by then (it rises between calls too; the next
        // change to the shard reports it).
        var priority = top is null ? 0 : _queue.TopPriority;
        if (top is not null && priority < _floor)
        {
            // Unread rows may outrank everything here: nothing to hand out until they are read.
            top = null;
            priority = 0;
        }
        var behind = top is null ? [] : _queue.Behind(ShardHead.MaxBehind);
        var wake = top is { } t && (_head.IsEmpty || priority > _head.TopPriority
            || (enqueued && priority == _head.TopPriority
                && (t.Tenant != _head.TopTenant || t.SizeHint < _head.TopSizeHint || HasNewTenant(behind, _head))));
        _head = new ShardHead(wake ? _head.Version + 1 : _head.Version, top is null ? 0 : _queue.Count, priority, top?.EnqueuedAtTicks ?? 0,
            _head.Epoch, top?.Tenant, top?.SizeHint ?? 0, behind);
        if (wake && _headChanged is { } waiters)
        {
            _headChanged = null;
            waiters.TrySetResult();
        }
    }

    /// <summary>True when <paramref name="behind"/> names a tenant that <paramref name="known"/> did not.</summary>
    private static bool HasNewTenant(ImmutableArray<TenantHead> behind, ShardHead known)
    {
        var knownBehind = known.Behind.IsDefault ? [] : known.Behind;
        foreach (var tenant in behind)
        {
            if (tenant.Tenant == known.TopTenant)
                continue;
            var seen = false;
            foreach (var other in knownBehind)
                seen |= other.Tenant == tenant.Tenant;
            if (!seen)
                return true;
        }
        return false;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Queue shard {Shard}: {Count} jobs taken by silos that died are queued again")]
    private static partial void LogRequeuedFromDeadSilos(ILogger logger, string shard, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Queue shard {Shard}: {Count} jobs handed to silo {Silo} that it does not hold are queued again")]
    private static partial void LogNotHeld(ILogger logger, string shard, int count, SiloAddress silo);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Queue shard {Shard} activated with {Count} open jobs from the store (more to read: {More})")]
    private static partial void LogActivated(ILogger logger, string shard, int count, bool more);

    [LoggerMessage(Level = LogLevel.Information, Message = "Queue shard {Shard} read its {Count} open jobs from the store in {Milliseconds:0} ms")]
    private static partial void LogLoaded(ILogger logger, string shard, long count, double milliseconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Queue shard {Shard}: reading a page of its open jobs failed; trying again")]
    private static partial void LogLoadFailed(ILogger logger, Exception exception, string shard);
}
