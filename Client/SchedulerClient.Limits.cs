namespace Scheduler.Client;

internal sealed partial class SchedulerClient
{
    public Task<KeyStatus> SetKeyLimitsAsync(string key, KeySettings settings, CancellationToken cancellationToken = default)
    {
        if (FlowKeys.Problem(key, settings) is { } problem)
            throw new SchedulerException(SchedulerErrorCode.InvalidRequest, problem);
        return AuditedAsync("limits.set", key, CallAsync(g => g.GetGrain<IFlowKeyGrain>(key).Set(settings), cancellationToken),
            _ => $"limit={settings.Limit} rate={settings.Rate}", cancellationToken);
    }

    public Task<KeyStatus> GetKeyAsync(string key, CancellationToken cancellationToken = default)
    {
        if (!FlowKeys.IsKey(key))
            throw new SchedulerException(SchedulerErrorCode.InvalidRequest, $"concurrency key '{key}' is not valid ({FlowKeys.KeyRule})");
        return CallAsync(g => g.GetGrain<IFlowKeyGrain>(key).GetStatus(), cancellationToken);
    }

    public Task<IReadOnlyList<KeyStatus>> ListKeysAsync(CancellationToken cancellationToken = default) =>
        CallAsync<IReadOnlyList<KeyStatus>>(async g =>
        {
            var keys = await g.GetGrain<IFlowKeyDirectoryGrain>(0).List();
            return await Task.WhenAll(keys.Select(key => g.GetGrain<IFlowKeyGrain>(key).GetStatus()));
        }, cancellationToken);

    public Task<ScopeStatus> GetExclusiveScopeAsync(string scope, CancellationToken cancellationToken = default)
    {
        if (!ExclusiveScopes.IsScope(scope))
            throw new SchedulerException(SchedulerErrorCode.InvalidRequest, $"exclusive scope '{scope}' does not exist ({ExclusiveScopes.ScopeRule})");
        return CallAsync(g => g.GetGrain<IExclusiveScopeGrain>(scope).GetStatus(), cancellationToken);
    }
}
