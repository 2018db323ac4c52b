using System.Collections.Concurrent;
using Orleans.Storage;

namespace Scheduler.Storage;

/// <summary>
/// Ids of jobs this silo is about to create, so that their grains' first activation skips reading state that
/// does not exist yet: a storage round trip less between submit and start. Job grains are placed on the silo that
/// calls them first (<see cref="Orleans.Placement.PreferLocalPlacementAttribute"/>), where the claim was made.
/// A wrong claim costs time, never state: a new job's first write creates its row only if there is none, so a job
/// that existed after all (a retried submit) makes that write fail, its activation is dropped, and
/// <see cref="SubmitAsync"/> submits again to an activation that reads what is stored.
/// </summary>
public sealed class NewJobs(TimeProvider time)
{
    // A claim not taken by an activation soon (the grain was already active, or placed elsewhere) is dropped.
    private static readonly TimeSpan Expiry = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<JobId, long> _claims = new();
    private long _nextSweep;

    /// <summary>Notes that <paramref name="id"/> names a job that has never been submitted, as far as the caller knows.</summary>
    public void Claim(JobId id)
    {
        var now = time.GetTimestamp();
        _claims[id] = now;
        if (_claims.Count > 10_000 && now >= Interlocked.Read(ref _nextSweep))
            Sweep(now);
    }

    /// <summary>True (once) if <paramref name="id"/> was claimed lately: its grain need not read its state.</summary>
    public bool TryTake(JobId id) =>
        _claims.TryRemove(id, out var at) && time.GetElapsedTime(at) < Expiry;

    private void Sweep(long now)
    {
        Interlocked.Exchange(ref _nextSweep, now + (long)(Expiry.TotalSeconds * time.TimestampFrequency));
        foreach (var (id, at) in _claims)
        {
            if (time.GetElapsedTime(at, now) >= Expiry)
                _claims.TryRemove(new KeyValuePair<JobId, long>(id, at));
        }
    }

    /// <summary>
    /// Submits <paramref name="request"/> (its id set) to its job grain, claiming the id as new when
    /// <paramref name="isNew"/>; if the job turns out to exist, submits once more without the claim.
    /// </summary>
    public async Task<SubmitResult> SubmitAsync(IGrainFactory grains, JobRequest request, bool isNew)
    {
        var id = request.Id!.Value;
        var grain = grains.Reference<IJobGrain>(id.Value);
        if (!isNew)
            return await grain.Submit(request);
        Claim(id);
        try
        {
            return await grain.Submit(request);
        }
        catch (InconsistentStateException)
        {
            _claims.TryRemove(id, out _);
            return await grain.Submit(request);
        }
        finally
        {
            // Not taken when the grain was already active (the job existed): a later activation must read.
            _claims.TryRemove(id, out _);
        }
    }
}
