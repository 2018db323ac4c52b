namespace Scheduler.Client;

internal sealed partial class SchedulerClient
{
    /// <summary>Writes a control action to the audit log once it has been done (unless the caller audits it itself).</summary>
    private Task AuditAsync(string action, string target, string? detail, CancellationToken cancellationToken)
    {
        if (ClientAudit.Suppressed)
            return Task.CompletedTask;
        var entry = new AuditEntry
        {
            Timestamp = DateTimeOffset.UtcNow,
            Actor = _options.AuditActor ?? SchedulerClientOptions.DefaultAuditActor,
            Action = action,
            Target = target,
            Detail = detail,
        };
        return CallAsync(async g =>
        {
            await g.GetGrain<IAccessGrain>(0).Audit(entry);
            return true;
        }, cancellationToken);
    }

    private async Task<T> AuditedAsync<T>(string action, string target, Task<T> acting, Func<T, string?> detail, CancellationToken cancellationToken)
    {
        var result = await acting;
        await AuditAsync(action, target, detail(result), cancellationToken);
        return result;
    }

    private static string Targets(IReadOnlyList<JobId> ids) =>
        string.Join(",", ids.Take(20)) + (ids.Count > 20 ? ",..." : "");
}
