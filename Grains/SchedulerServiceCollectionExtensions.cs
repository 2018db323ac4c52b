using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Scheduler.Execution;
using Scheduler.Storage;
using Orleans.Serialization;
using Orleans.Storage;

namespace Scheduler;

public static class SchedulerServiceCollectionExtensions
{
    /// <summary>
    /// Adds the scheduler's silo-side services: worker pool, job runner, the built-in handlers ("noop", and
    /// "command" when available). Idempotent. Storage is added separately (embedded, in-memory or PostgreSQL).
    /// </summary>
    public static IServiceCollection AddSchedulerRuntime(this IServiceCollection services, Action<SchedulerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var optionsBuilder = services.AddOptions<SchedulerOptions>();
        if (configure is not null)
            optionsBuilder.Configure(configure);
        if (services.Any(d => d.ServiceType == typeof(WorkerPool)))
            return services;

        optionsBuilder.ValidateOnStart();
        services.AddSingleton<IValidateOptions<SchedulerOptions>, SchedulerOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<JobHandlerRegistry>();
        services.AddWorkerPool();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, WorkflowWatchdogStarter>();
        services.AddJobGrainStorage();
        services.AddJobHandler<NoopJobHandler>(NoopJobHandler.HandlerName);
        services.AddOptions<CommandHandlerOptions>()
            .Validate(o => !o.Validate().Any(), "invalid command handler options")
            .ValidateOnStart();
        services.AddJobHandler<CommandJobHandler>(CommandJob.HandlerName);
        return services;
    }

    /// <summary>
    /// Adds the grain storage of job and workflow grains (<see cref="JobGrainStorage"/> and <see cref="WorkflowGrainStorage"/>,
    /// over the registered <see cref="IJobStore"/>).
    /// Idempotent; every storage profile calls it along with its job store.
    /// </summary>
    public static IServiceCollection AddJobGrainStorage(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(sp => new NewJobs(sp.GetService<TimeProvider>() ?? TimeProvider.System));
        services.TryAddKeyedSingleton<IGrainStorage>(JobGrainStorage.ProviderName, (sp, _) => new JobGrainStorage(
            sp.GetRequiredService<IJobStore>(), sp.GetRequiredService<Serializer>(), sp, sp.GetRequiredService<NewJobs>()));
        services.TryAddKeyedSingleton<IGrainStorage>(WorkflowGrainStorage.ProviderName, (sp, _) => new WorkflowGrainStorage(
            sp.GetRequiredService<IJobStore>(), sp.GetRequiredService<Serializer>(), sp.GetService<TimeProvider>() ?? TimeProvider.System, sp));
        return services;
    }

    private sealed class SchedulerOptionsValidator : IValidateOptions<SchedulerOptions>
    {
        public ValidateOptionsResult Validate(string? name, SchedulerOptions options)
        {
            var problems = options.Validate().ToList();
            return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
        }
    }
}
