using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Scheduler.Execution;
using Scheduler.Jobs;
using Scheduler.Schedules;
using Scheduler.Retention;
using Scheduler.Storage;
using Scheduler.Telemetry;
using Orleans.Serialization;
using Orleans.Storage;

namespace Scheduler.Hosting;

/// <summary>Hosts the scheduler in a silo: <c>silo.AddScheduler().UseEmbeddedSchedulerStorage(dir)</c> (or another storage).</summary>
public static class SchedulerSiloExtensions
{
    /// <summary>
    /// Adds the scheduler's grains and silo-side services: worker pool, job runner, the built-in handlers ("noop",
    /// and "command" when available). Idempotent; a second call only adds another options configuration.
    /// Choose a storage as well (<see cref="EmbeddedStorageExtensions.UseEmbeddedSchedulerStorage(ISiloBuilder, string, string?)"/>,
    /// <see cref="PostgresStorageExtensions.UsePostgresSchedulerStorage(ISiloBuilder, string, string?)"/> or
    /// <see cref="InMemoryStorageExtensions.UseInMemorySchedulerStorage"/>): the silo refuses to start without one.
    /// </summary>
    public static ISiloBuilder AddScheduler(this ISiloBuilder silo, Action<SchedulerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(silo);
        silo.Services.AddScheduler(configure);
        return silo;
    }

    /// <summary>The service-collection form of <see cref="AddScheduler(ISiloBuilder, Action{SchedulerOptions}?)"/> (idempotent).</summary>
    public static IServiceCollection AddScheduler(this IServiceCollection services, Action<SchedulerOptions>? configure = null)
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
        // Before the worker pool, whose parts need the store: a missing storage is named, not a DI error.
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, SchedulerStorageCheck>();
        services.AddWorkerPool();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, WorkflowWatchdogStarter>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, ScheduleKeeper>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, RetentionStarter>();
        services.TryAddSingleton<RetentionPruner>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<Protection.SiloProtection>());
        services.TryAddSingleton<Protection.Backlog>();
        services.AddHttpClient(Webhooks.WebhookSender.ClientName);
        services.TryAddSingleton<Webhooks.WebhookSender>();
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
    /// <see cref="IJobLogStore"/>, <see cref="IDeadLetterStore"/>, <see cref="IWorkflowStore"/>, <see cref="IScheduleStore"/>,
    /// <see cref="IRetentionStore"/>, <see cref="IFlowKeyStore"/>), and the grain storage of
    /// job, workflow and key grains over it. The first store registered is the one used.
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
        services.TryAddSingleton<IScheduleStore>(sp => sp.GetRequiredService<ISchedulerStore>());
        services.TryAddSingleton<IRetentionStore>(sp => sp.GetRequiredService<ISchedulerStore>());
        services.TryAddSingleton<IFlowKeyStore>(sp => sp.GetRequiredService<ISchedulerStore>());
        services.TryAddSingleton<IAccessStore>(sp => sp.GetRequiredService<ISchedulerStore>() as IAccessStore
            ?? throw new NotSupportedException("this storage profile keeps no API keys or audit log"));
        services.TryAddSingleton<IWebhookStore>(sp => sp.GetRequiredService<ISchedulerStore>() as IWebhookStore
            ?? throw new NotSupportedException("this storage profile keeps no webhook deliveries"));
        return services.AddJobGrainStorage();
    }

    /// <summary>
    /// Adds the grain storage of job, workflow and key grains (<see cref="JobGrainStorage"/>, <see cref="WorkflowGrainStorage"/>
    /// and <see cref="FlowKeyGrainStorage"/>,
    /// over the registered stores, and the <see cref="LegacyState"/> if the profile registered one), and the
    /// <see cref="JobSubmitter"/> that job grains and their storage use. Idempotent.
    /// </summary>
    internal static IServiceCollection AddJobGrainStorage(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<JobHandlerRegistry>();
        services.TryAddSingleton(sp => new SchedulerMetrics(sp.GetRequiredService<IOptions<SchedulerOptions>>().Value.Telemetry,
            sp.GetService<System.Diagnostics.Metrics.IMeterFactory>(),
            sp.GetService<Scheduler.Workers.Slots>() is { } slots ? () => slots.Running : null,
            sp.GetRequiredService<IOptions<SchedulerOptions>>().Value.MaxConcurrentJobs));
        services.TryAddSingleton<JobSubmitter>();
        services.TryAddSingleton<LeaseWatch>();
        services.TryAddKeyedSingleton<Orleans.Providers.IControllable, RunningJobsControllable>(RunningJobsControllable.Name);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Orleans.Serialization.ITypeFilter, ControllableTypeFilter>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Orleans.Serialization.ITypeNameFilter, ControllableTypeFilter>());
        // Job grains consult it; only a silo that runs the scheduler starts its watch of gates and breakers.
        services.TryAddSingleton<Protection.SiloProtection>();
        services.TryAddKeyedSingleton<IGrainStorage>(JobGrainStorage.ProviderName, (sp, _) => new JobGrainStorage(
            sp.GetRequiredService<IJobStore>(), sp.GetRequiredService<Serializer>(), sp.GetService<LegacyState>(), sp.GetRequiredService<JobSubmitter>()));
        services.TryAddKeyedSingleton<IGrainStorage>(WorkflowGrainStorage.ProviderName, (sp, _) => new WorkflowGrainStorage(
            sp.GetRequiredService<IWorkflowStore>(), sp.GetRequiredService<Serializer>(), sp.GetService<TimeProvider>() ?? TimeProvider.System,
            sp.GetService<LegacyState>()));
        services.TryAddKeyedSingleton<IGrainStorage>(FlowKeyGrainStorage.ProviderName, (sp, _) => new FlowKeyGrainStorage(
            sp.GetRequiredService<IFlowKeyStore>(), sp.GetRequiredService<Serializer>(), sp.GetService<LegacyState>()));
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

    /// <summary>Stops the start of a silo that has the scheduler but no storage, saying what to call.</summary>
    private sealed class SchedulerStorageCheck : ILifecycleParticipant<ISiloLifecycle>
    {
        public SchedulerStorageCheck(IServiceProviderIsService services)
        {
            if (!services.IsService(typeof(IJobStore)))
                throw new OrleansConfigurationException(
                    "The scheduler has no storage: call UseEmbeddedSchedulerStorage, UsePostgresSchedulerStorage or UseInMemorySchedulerStorage on the silo builder.");
        }

        public void Participate(ISiloLifecycle lifecycle)
        {
        }
    }
}
