namespace Scheduler.Client;

internal sealed partial class SchedulerClient
{
    public Task<GateStatus> PauseGateAsync(string target, string? reason = null, CancellationToken cancellationToken = default)
    {
        CheckGate(target, reason);
        return AuditedAsync("gate.pause", target, CallAsync(g => g.GetGrain<IGateGrain>(target).Pause(reason), cancellationToken), _ => reason, cancellationToken);
    }

    public Task<GateStatus> ResumeGateAsync(string target, CancellationToken cancellationToken = default)
    {
        CheckGate(target, null);
        return AuditedAsync("gate.resume", target, CallAsync(g => g.GetGrain<IGateGrain>(target).Resume(), cancellationToken), _ => null, cancellationToken);
    }

    public async Task<long> DropGateAsync(string target, string? reason = null, CancellationToken cancellationToken = default)
    {
        CheckGate(target, reason);
        long total = 0;
        while (true)
        {
            // One bounded batch per call, so a call stays well inside the response timeout; stop when one drops none.
            var dropped = await CallAsync(g => g.GetGrain<IGateGrain>(target).Drop(reason, DropBatch), cancellationToken);
            total += dropped;
            if (dropped == 0)
            {
                await AuditAsync("gate.drop", target, $"{total} cancelled{(reason is null ? "" : ": " + reason)}", cancellationToken);
                return total;
            }
        }
    }

    /// <summary>Jobs one drop call cancels.</summary>
    private const int DropBatch = 500;

    public Task<IReadOnlyList<GateStatus>> ListGatesAsync(CancellationToken cancellationToken = default) =>
        CallAsync<IReadOnlyList<GateStatus>>(async g =>
        {
            var listing = await g.GetGrain<IHoldDirectoryGrain>(0).List();
            return await Task.WhenAll(listing.Holds.Gates.Select(gate => g.GetGrain<IGateGrain>(gate).GetStatus()));
        }, cancellationToken);

    public Task<IReadOnlyList<BreakerStatus>> ListBreakersAsync(CancellationToken cancellationToken = default) =>
        CallAsync<IReadOnlyList<BreakerStatus>>(async g =>
        {
            var listing = await g.GetGrain<IHoldDirectoryGrain>(0).List();
            return await Task.WhenAll(listing.ConfiguredBreakers.Select(breaker => g.GetGrain<IBreakerGrain>(breaker).GetStatus()));
        }, cancellationToken);

    public Task<BreakerStatus> GetBreakerAsync(string target, CancellationToken cancellationToken = default)
    {
        CheckBreaker(target);
        return CallAsync(g => g.GetGrain<IBreakerGrain>(target).GetStatus(), cancellationToken);
    }

    public Task<BreakerStatus> ResetBreakerAsync(string target, CancellationToken cancellationToken = default)
    {
        CheckBreaker(target);
        return AuditedAsync("breaker.reset", target, CallAsync(g => g.GetGrain<IBreakerGrain>(target).Reset(), cancellationToken), _ => null, cancellationToken);
    }

    private static void CheckGate(string target, string? reason)
    {
        if (GateTargets.Problem(target) is { } problem)
            throw new SchedulerException(SchedulerErrorCode.InvalidRequest, problem);
        if (reason is { Length: > 1000 })
            throw new SchedulerException(SchedulerErrorCode.InvalidRequest, $"reason is {reason.Length} characters; the limit is 1000");
    }

    private static void CheckBreaker(string target)
    {
        if (BreakerTargets.Problem(target) is { } problem)
            throw new SchedulerException(SchedulerErrorCode.InvalidRequest, problem);
    }
}
