using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Scheduler.Execution;
using Scheduler.Jobs;
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
        services.TryAddSingleton<JobHandlerRegistry>();
        services.AddSingleton<WorkerPool>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<WorkerPool>());
        services.AddSingleton<JobRunner>();
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
    /// Registers a storage profile's <paramref name="store"/> under each part its consumers take (<see cref="IJobStore"/>,
    /// <see cref="IJobLogStore"/>, <see cref="IDeadLetterStore"/>, <see cref="IWorkflowStore"/>), and the grain storage of
    /// job and workflow grains over it. The first store registered is the one used.
    /// </summary>
    public static IServiceCollection AddSchedulerStore(this IServiceCollection services, Func<IServiceProvider, ISchedulerStore> store)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(store);
        services.TryAddSingleton(store);
        services.TryAddSingleton<IJobStore>(sp => sp.GetRequiredService<ISchedulerStore>());
        services.TryAddSingleton<IJobLogStore>(sp => sp.GetRequiredService<ISchedulerStore>());
        services.TryAddSingleton<IDeadLetterStore>(sp => sp.GetRequiredService<ISchedulerStore>());
        services.TryAddSingleton<IWorkflowStore>(sp => sp.GetRequiredService<ISchedulerStore>());
        return services.AddJobGrainStorage();
    }

    /// <summary>
    /// Adds the grain storage of job and workflow grains (<see cref="JobGrainStorage"/> and <see cref="WorkflowGrainStorage"/>,
    /// over the registered stores, and the <see cref="LegacyState"/> if the profile registered one), and the
    /// <see cref="JobSubmitter"/> that job grains and their storage use. Idempotent.
    /// </summary>
    public static IServiceCollection AddJobGrainStorage(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<JobHandlerRegistry>();
        services.TryAddSingleton<JobSubmitter>();
        services.TryAddKeyedSingleton<IGrainStorage>(JobGrainStorage.ProviderName, (sp, _) => new JobGrainStorage(
            sp.GetRequiredService<IJobStore>(), sp.GetRequiredService<Serializer>(), sp.GetService<LegacyState>(), sp.GetRequiredService<JobSubmitter>()));
        services.TryAddKeyedSingleton<IGrainStorage>(WorkflowGrainStorage.ProviderName, (sp, _) => new WorkflowGrainStorage(
            sp.GetRequiredService<IWorkflowStore>(), sp.GetRequiredService<Serializer>(), sp.GetService<TimeProvider>() ?? TimeProvider.System,
            sp.GetService<LegacyState>()));
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
