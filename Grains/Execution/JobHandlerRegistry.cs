using Microsoft.Extensions.DependencyInjection;

namespace Scheduler.Execution;

/// <summary>The handler names a silo serves, and how to make each handler.</summary>
public sealed class JobHandlerRegistry
{
    private readonly Dictionary<string, Type> _handlers;

    public JobHandlerRegistry(IEnumerable<JobHandlerRegistration> registrations)
    {
        _handlers = new(StringComparer.Ordinal);
        foreach (var registration in registrations)
            _handlers[registration.Name] = registration.HandlerType;
        Names = [.. _handlers.Keys.Order(StringComparer.Ordinal)];
    }

    public IReadOnlyList<string> Names { get; }

    public bool Contains(string name) => _handlers.ContainsKey(name);

    public IJobHandler? Create(IServiceProvider services, string name) =>
        _handlers.TryGetValue(name, out var type) ? (IJobHandler)ActivatorUtilities.GetServiceOrCreateInstance(services, type) : null;
}

public sealed record JobHandlerRegistration(string Name, Type HandlerType);

public static class JobHandlerServiceCollectionExtensions
{
    /// <summary>Registers <typeparamref name="THandler"/> to run jobs submitted with handler <paramref name="name"/>.</summary>
    public static IServiceCollection AddJobHandler<THandler>(this IServiceCollection services, string name)
        where THandler : class, IJobHandler
    {
        ArgumentNullException.ThrowIfNull(services);
        if (!RequestValidation.IsName(name))
            throw new ArgumentException($"handler name '{name}' is not valid ({RequestValidation.NameRule})", nameof(name));
        services.AddSingleton(new JobHandlerRegistration(name, typeof(THandler)));
        services.AddTransient<THandler>();
        return services;
    }
}

/// <summary>Built-in handler "noop": succeeds at once. Useful for smoke tests and benchmarks.</summary>
public sealed class NoopJobHandler : IJobHandler
{
    public const string HandlerName = "noop";

    public Task<JobResult> ExecuteAsync(JobContext context, CancellationToken cancellationToken) => Task.FromResult(JobResult.Success());
}
