namespace Scheduler.Client;

/// <summary>
/// The audit log entries the SDK writes for control actions (cancel, reschedule, requeue, purge, priority, workflow and
/// schedule controls, limits, gates, breakers), naming <see cref="SchedulerClientOptions.AuditActor"/>. A host that
/// audits its callers itself (the REST API, which names the authenticated key) turns the SDK's entries off for its calls.
/// </summary>
public static class ClientAudit
{
    private static readonly AsyncLocal<bool> s_callerAudits = new();

    /// <summary>Within the returned scope (this async flow), the SDK writes no audit entries: the caller writes its own.</summary>
    public static IDisposable CallerAudits()
    {
        var previous = s_callerAudits.Value;
        s_callerAudits.Value = true;
        return new Scope(previous);
    }

    internal static bool Suppressed => s_callerAudits.Value;

    private sealed class Scope(bool previous) : IDisposable
    {
        public void Dispose() => s_callerAudits.Value = previous;
    }
}
