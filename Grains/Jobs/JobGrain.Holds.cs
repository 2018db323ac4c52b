using Scheduler.Protection;

namespace Scheduler.Jobs;

/// <summary>
/// Gates and breakers, the way concurrency keys work: a job that a paused gate or an open breaker covers answers
/// "not now" to its offer, so its pull is acknowledged and it leaves its queue (no worker slot, no head-of-line
/// blocking); it stays Queued in its row with its attempts, and its status says what holds it. It comes back when the
/// gate resumes or the breaker closes (its shard reloads it) or is woken as a breaker's trial. The silo's copy of the
/// paused gates and open breakers decides whom to ask, so with none a start costs a field read.
/// </summary>
public sealed partial class JobGrain
{
    /// <summary>True when a gate or breaker holds the job (<see cref="_waitingFor"/> says which).</summary>
    private async Task<bool> HeldAsync(int attempt)
    {
        var holds = protection.Current ?? await protection.LoadAsync();
        if (holds.Gates.IsEmpty && holds.Breakers.IsEmpty)
            return false;
        KeyClaim? claim = null;
        foreach (var gate in holds.Gates)
        {
            if (!GateTargets.Matches(gate, Job.Handler, Job.Queue, Job.Tenant, Job.Workflow))
                continue;
            claim ??= HoldClaim(attempt);
            if (await GrainFactory.GetGrain<IGateGrain>(gate).Claim(claim) is { Granted: false } answer)
            {
                _waitingFor = answer.Reason;
                return true;
            }
        }
        foreach (var breaker in holds.Breakers)
        {
            if (!CoveredBy(breaker))
                continue;
            claim ??= HoldClaim(attempt);
            if (await GrainFactory.GetGrain<IBreakerGrain>(breaker).Claim(claim) is { Granted: false } answer)
            {
                _waitingFor = answer.Reason;
                return true;
            }
        }
        return false;
    }

    private bool CoveredBy(string breaker) =>
        breaker == BreakerTargets.OfHandler(Job.Handler)
        || (!Job.Keys.IsDefaultOrEmpty && Job.Keys.Any(k => breaker == BreakerTargets.OfKey(k.Key)));

    private KeyClaim HoldClaim(int attempt) =>
        new() { Job = Id, Attempt = attempt, Priority = Job.Priority, QueuedAt = Job.QueuedAs(Id).Entry.EnqueuedAtTicks };

    /// <summary>Tells the breakers of the job's handler and keys how its attempt ended (a cancellation is not counted).</summary>
    private void RecordOutcome(JobResult result) =>
        protection.RecordOutcome(Job.Handler, Job.Keys, Id, result.Outcome != JobOutcome.Success, result.Reason, time.GetUtcNow());
}
