using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Scheduler.Execution;
using Scheduler.Storage;

namespace Scheduler.Hosting;

/// <summary>
/// The silo's health checks. Liveness has none (the process answers); readiness (tag <see cref="Ready"/>) asks whether
/// the worker pool takes work, storage answers, this silo is an active cluster member, and its handlers are there.
/// </summary>
internal static class SchedulerHealthChecks
{
    public const string Ready = "ready";
    public const string Pool = "scheduler";

    /// <summary>How long a storage probe may take before readiness reports storage as unreachable.</summary>
    private static readonly TimeSpan StorageTimeout = TimeSpan.FromSeconds(5);

    public static IHealthChecksBuilder AddSchedulerHealthChecks(this IServiceCollection services, IConfiguration handlerSettings) =>
        services.AddHealthChecks()
            .AddCheck<PoolCheck>(Pool, tags: [Ready])
            .AddCheck<StorageCheck>("storage", tags: [Ready], timeout: StorageTimeout)
            .AddCheck<MembershipCheck>("membership", tags: [Ready])
            .Add(new HealthCheckRegistration("handlers", sp => new HandlersCheck(sp.GetRequiredService<JobHandlerRegistry>(), handlerSettings),
                failureStatus: null, tags: [Ready]));

    private sealed class PoolCheck(WorkerPool pool, IOptions<SchedulerOptions> options) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(pool.IsRunning
                ? HealthCheckResult.Healthy($"taking work; {pool.Running} of {options.Value.MaxConcurrentJobs} slots busy")
                : HealthCheckResult.Unhealthy("not taking work (starting or stopping)"));
    }

    /// <summary>Reads one job row that does not exist: a round trip to the store, cheap on every backend.</summary>
    private sealed class StorageCheck(IJobStore store) : IHealthCheck
    {
        private static readonly JobId Probe = new(new Guid("5c4ed01e-0000-4000-8000-000000000001"));

        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await store.ReadStatesAsync([Probe], cancellationToken);
                return HealthCheckResult.Healthy("answers");
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return HealthCheckResult.Unhealthy($"unreachable: {e.GetType().Name}: {e.Message}");
            }
        }
    }

    private sealed class MembershipCheck(IClusterMembershipService membership, ILocalSiloDetails silo) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var snapshot = membership.CurrentSnapshot;
            var status = snapshot.GetSiloStatus(silo.SiloAddress);
            var active = snapshot.Members.Values.Count(m => m.Status == SiloStatus.Active);
            return Task.FromResult(status == SiloStatus.Active
                ? HealthCheckResult.Healthy($"active; {active} active silo(s)")
                : HealthCheckResult.Unhealthy($"this silo is {status} in the cluster membership"));
        }
    }

    /// <summary>Every handler named in configuration (Scheduler:Handlers:&lt;name&gt;) is registered on this silo.</summary>
    private sealed class HandlersCheck(JobHandlerRegistry handlers, IConfiguration handlerSettings) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            // Configuration keys ignore case (Scheduler:Handlers:Command configures handler "command").
            var missing = handlerSettings.GetChildren().Select(c => c.Key)
                .Where(name => !handlers.Names.Contains(name, StringComparer.OrdinalIgnoreCase)).Order(StringComparer.Ordinal).ToList();
            if (handlers.Names.Count == 0)
                return Task.FromResult(HealthCheckResult.Unhealthy("no handler is registered"));
            return Task.FromResult(missing.Count > 0
                ? HealthCheckResult.Unhealthy($"configured but not registered on this silo: {string.Join(", ", missing)}")
                : HealthCheckResult.Healthy($"{handlers.Names.Count} registered: {string.Join(", ", handlers.Names)}"));
        }
    }
}
