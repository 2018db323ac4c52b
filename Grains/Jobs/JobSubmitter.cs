using System.Collections.Concurrent;
using System.Collections.Immutable;
using Microsoft.Extensions.Options;
using Orleans.Storage;
using Scheduler.Execution;

namespace Scheduler.Jobs;

/// <summary>
/// The one way into the queues, for client batches, workflows and jobs going back to their queue: a new job gets its
/// handler's settings here, its job grain records it and says where it waits, and entries are enqueued one call per
/// shard.
/// </summary>
/// <remarks>
/// A job submitted as new is noted here, so that its grain's first activation skips reading state that does not
/// exist yet (<see cref="TryTakeNewJob"/>, asked by <see cref="Storage.JobGrainStorage"/>): a storage round trip less
/// between submit and start. Job grains are placed on the silo that calls them first
/// (<see cref="Orleans.Placement.PreferLocalPlacementAttribute"/>), where the note was made. A wrong note costs time,
/// never state: a new job's first write creates its row only if there is none, so for a job that existed after all
/// that write fails, its activation is dropped, and the job is submitted again to an activation that reads.
/// </remarks>
public sealed class JobSubmitter(IGrainFactory grains, JobHandlerRegistry handlers, TimeProvider time, IOptions<SchedulerOptions> options,
    Telemetry.SchedulerMetrics metrics)
{
    private readonly Limits.FlowControlOptions _flow = options.Value.FlowControl;
    private readonly int _shardsPerQueue = Math.Max(1, options.Value.ShardsPerQueue);

    // A note not taken by an activation soon (the grain was already active, or placed elsewhere) is dropped.
    private static readonly TimeSpan NoteExpiry = TimeSpan.FromSeconds(10);

    // Every submit adds and every new activation removes: striped wider than the default (one lock per core), whose
    // locks were contended in bursts on a busy host.
    private readonly ConcurrentDictionary<JobId, long> _newJobs = new(concurrencyLevel: 64, capacity: 4096);
    // (shard, tenant, priority) whose last enqueue from this silo was answered with a place at least DeepShard (see IsDeep).
    private readonly ConcurrentDictionary<(string Shard, string? Tenant, int Priority), byte> _deep = new();

    /// <summary>
    /// Waiting jobs ahead of a newly submitted job in its shard (by priority and, with fair share, its tenant's turns)
    /// from which its grain goes idle once it is stored: such a job starts only after many others, and an activation held for each of a million waiting jobs would cost gigabytes (about
    /// 3.6 KB each). Its start then reads its state once, which a job that waited that long does not notice. Lower
    /// settings keep memory and garbage collection down (at 25,000 a silo kept 100,000 grains live and its submits
    /// slowed by a quarter as they piled up); a burst deeper than this reads its later jobs' state at their start.
    /// </summary>
    public const int DeepShard = 10_000;
    private long _nextSweep;

    /// <summary>
    /// Records each request (its id set) on its job grain with its handler's settings, and queues the jobs that wait
    /// (new ones, and existing ones whose first submit may have failed before reaching the queue: a shard drops an id
    /// it already holds). Results are in request order.
    /// </summary>
    /// <param name="order">Where the jobs go among equal-priority jobs (a workflow's); null: by each job's creation.</param>
    /// <param name="mayBeNew">
    /// The ids are most likely of jobs never submitted. An id derived from an idempotency key is not: it is meant to be
    /// sent again.
    /// </param>
    /// <param name="storeAtStart">
    /// The caller submits the same ids again should the jobs be lost before they start (a schedule's runs): a job is
    /// stored when it starts, and one with a due time waits for it in memory (see <see cref="IJobGrain.Submit"/>).
    /// </param>
    public async Task<SubmitResult[]> SubmitAsync(IReadOnlyList<JobRequest> requests, QueueOrder? order, bool mayBeNew, bool storeAtStart = false)
    {
        var submits = new Task<JobSubmitted>[requests.Count];
        for (var i = 0; i < submits.Length; i++)
            submits[i] = SubmitOneAsync(Resolve(requests[i]), order, mayBeNew && requests[i].IdempotencyKey is null, storeAtStart);
        var submitted = await Task.WhenAll(submits);

        var results = new SubmitResult[submitted.Length];
        var waiting = new List<QueuedJob>(submitted.Length);
        for (var i = 0; i < submitted.Length; i++)
        {
            results[i] = submitted[i].Result;
            if (results[i].Outcome == SubmitOutcome.Accepted)
                metrics.Submitted(requests[i].Queue, requests[i].Handler, requests[i].Tenant);
            if (submitted[i].Waiting is { } place)
                waiting.Add(place);
        }
        await EnqueueAsync(waiting, handToGrains: true);
        return results;
    }

    /// <summary>The request as its grain records it: its handler's settings and its handler's and queue's default keys.</summary>
    private JobRequest Resolve(JobRequest request) => _flow.AddDefaults(handlers.Resolve(request));

    /// <summary>Puts jobs in their queue shards, one call per shard; throws when a shard cannot be reached.</summary>
    public Task EnqueueAsync(IReadOnlyCollection<QueuedJob> jobs) => EnqueueAsync(jobs, handToGrains: false);

    /// <param name="handToGrains">
    /// A shard that cannot be reached leaves its jobs to their grains, which try again until it answers: the jobs are
    /// recorded already, so the submit has succeeded. Never from a job grain itself (a call to itself would deadlock).
    /// </param>
    private Task EnqueueAsync(IReadOnlyCollection<QueuedJob> jobs, bool handToGrains)
    {
        if (jobs.Count == 0)
            return Task.CompletedTask;
        var byShard = new Dictionary<string, ImmutableArray<QueueEntry>.Builder>();
        // A batch spreads over its queue's shards about evenly: sized for that, a shard's entries seldom grow.
        var perShard = jobs.Count / _shardsPerQueue + 8;
        foreach (var job in jobs)
        {
            if (!byShard.TryGetValue(job.Shard, out var entries))
                byShard[job.Shard] = entries = ImmutableArray.CreateBuilder<QueueEntry>(perShard);
            entries.Add(job.Entry);
        }
        return Task.WhenAll(byShard.Select(kv => EnqueueAsync(kv.Key, kv.Value.DrainToImmutable(), handToGrains)));
    }

    private async Task EnqueueAsync(string shard, ImmutableArray<QueueEntry> entries, bool handToGrains)
    {
        try
        {
            var place = await grains.Reference<IQueueShardGrain>(shard).Enqueue(entries);
            NotePlace(shard, entries, place);
        }
        catch (Exception) when (handToGrains)
        {
            await Task.WhenAll(entries.Select(entry => grains.Reference<IJobGrain>(entry.Id.Value).EnsureQueued()));
        }
    }

    /// <summary>
    /// True when this silo's last enqueue of jobs of <paramref name="tenant"/> at <paramref name="priority"/> into the
    /// shard found at least <see cref="DeepShard"/> jobs ahead. Kept per tenant: with fair share, another tenant's
    /// backlog does not hold back a tenant's few jobs, whose grains had better stay live for their start right after.
    /// </summary>
    public bool IsDeep(string shard, string? tenant, int priority) => !_deep.IsEmpty && _deep.ContainsKey((shard, tenant, priority));

    private void NotePlace(string shard, ImmutableArray<QueueEntry> entries, int place)
    {
        // A batch of several tenants or priorities takes the deepest place for all of them; only deep ones are kept,
        // so the set stays small however many tenants submit.
        (string? Tenant, int Priority) last = (null, -1);
        foreach (var entry in entries)
        {
            if ((entry.Tenant, entry.Priority) == last)
                continue;
            last = (entry.Tenant, entry.Priority);
            if (place >= DeepShard)
                _deep.TryAdd((shard, entry.Tenant, entry.Priority), 0);
            else if (!_deep.IsEmpty)
                _deep.TryRemove((shard, entry.Tenant, entry.Priority), out _);
        }
    }

    /// <summary>True (once) if <paramref name="id"/> is being submitted as new from this silo: its grain need not read its state.</summary>
    public bool TryTakeNewJob(JobId id) =>
        _newJobs.TryRemove(id, out var at) && time.GetElapsedTime(at) < NoteExpiry;

    private async Task<JobSubmitted> SubmitOneAsync(JobRequest request, QueueOrder? order, bool isNew, bool storeAtStart)
    {
        // The job's span, if anything records one; the job carries its context to every attempt.
        (request, var span) = Telemetry.JobTracing.StartSubmit(request);
        using var submitSpan = span;
        var id = request.Id!.Value;
        var grain = grains.Reference<IJobGrain>(id.Value);
        if (!isNew)
            return await grain.Submit(request, order, storeAtStart);
        NoteNew(id);
        try
        {
            return await grain.Submit(request, order, storeAtStart);
        }
        catch (InconsistentStateException)
        {
            _newJobs.TryRemove(id, out _);
            return await grain.Submit(request, order, storeAtStart);
        }
        finally
        {
            // Not taken when the grain was already active (the job existed): a later activation must read.
            _newJobs.TryRemove(id, out _);
        }
    }

    private void NoteNew(JobId id)
    {
        var now = time.GetTimestamp();
        _newJobs[id] = now;
        // Counting takes every stripe's lock: at most once a second, not at every submit (it was a burst's contention).
        var due = Interlocked.Read(ref _nextSweep);
        if (now >= due && Interlocked.CompareExchange(ref _nextSweep, now + time.TimestampFrequency, due) == due && _newJobs.Count > 10_000)
            Sweep(now);
    }

    private void Sweep(long now)
    {
        Interlocked.Exchange(ref _nextSweep, now + (long)(NoteExpiry.TotalSeconds * time.TimestampFrequency));
        foreach (var (id, at) in _newJobs)
        {
            if (time.GetElapsedTime(at, now) >= NoteExpiry)
                _newJobs.TryRemove(new KeyValuePair<JobId, long>(id, at));
        }
    }
}
