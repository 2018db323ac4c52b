using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Scheduler.Execution;

/// <summary>The handler names a silo serves, how to make each handler, and how its jobs are retried.</summary>
public sealed class JobHandlerRegistry
{
    private readonly Dictionary<string, Type> _handlers;
    private readonly IOptionsMonitor<JobHandlerOptions>? _options;

    public JobHandlerRegistry(IEnumerable<JobHandlerRegistration> registrations, IOptionsMonitor<JobHandlerOptions>? options = null)
    {
        _handlers = new(StringComparer.Ordinal);
        foreach (var registration in registrations)
            _handlers[registration.Name] = registration.HandlerType;
        Names = [.. _handlers.Keys.Order(StringComparer.Ordinal)];
        _options = options;
    }

    public IReadOnlyList<string> Names { get; }

    public bool Contains(string name) => _handlers.ContainsKey(name);

    public IJobHandler? Create(IServiceProvider services, string name) =>
        _handlers.TryGetValue(name, out var type) ? (IJobHandler)ActivatorUtilities.GetServiceOrCreateInstance(services, type) : null;

    /// <summary>The retry settings of handler <paramref name="name"/> (defaults for an unknown name).</summary>
    public JobHandlerOptions OptionsOf(string name) => _options?.Get(name) ?? new JobHandlerOptions();

    /// <summary>
    /// The request as the job grain should record it: max attempts and retry policy resolved from the request, then
    /// the handler's options, then the defaults, so the job keeps them even if the handler's settings change later.
    /// </summary>
    public JobRequest Resolve(JobRequest request)
    {
        var handler = OptionsOf(request.Handler);
        return request with
        {
            Limits = request.Limits with { MaxAttempts = request.Limits.MaxAttempts ?? handler.MaxAttempts ?? JobLimits.DefaultMaxAttempts },
            Retry = request.Retry is { } retry ? retry.Over(handler.Retry).Over(RetryPolicy.Default) : HandlerRetryOf(handler),
        };
    }

    // The policy of a request that sets none is its handler's over the defaults: made once per handler's options (an
    // immutable record, shared by its jobs), not twice per job.
    private sealed record HandlerRetry(JobHandlerOptions Options, RetryPolicy Policy);
    private HandlerRetry? _lastRetry;

    private RetryPolicy HandlerRetryOf(JobHandlerOptions handler)
    {
        if (Volatile.Read(ref _lastRetry) is { } last && ReferenceEquals(last.Options, handler))
            return last.Policy;
        var policy = new RetryPolicy().Over(handler.Retry).Over(RetryPolicy.Default);
        Volatile.Write(ref _lastRetry, new HandlerRetry(handler, policy));
        return policy;
    }
}

public sealed record JobHandlerRegistration(string Name, Type HandlerType);

public static class JobHandlerServiceCollectionExtensions
{
    /// <summary>
    /// Registers <typeparamref name="THandler"/> to run jobs submitted with handler <paramref name="name"/>, with
    /// optional retry settings for its jobs (checked when the silo starts).
    /// </summary>
    public static IServiceCollection AddJobHandler<THandler>(this IServiceCollection services, string name, Action<JobHandlerOptions>? configure = null)
        where THandler : class, IJobHandler
    {
        ArgumentNullException.ThrowIfNull(services);
        if (!RequestValidation.IsName(name))
            throw new ArgumentException($"handler name '{name}' is not valid ({RequestValidation.NameRule})", nameof(name));
        services.AddSingleton(new JobHandlerRegistration(name, typeof(THandler)));
        services.AddTransient<THandler>();
        var options = services.AddOptions<JobHandlerOptions>(name);
        if (configure is not null)
            options.Configure(configure);
        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<JobHandlerOptions>, JobHandlerOptions.Validator>());
        return services;
    }
}

/// <summary>Built-in handler "noop": succeeds at once. Useful for smoke tests and benchmarks.</summary>
public sealed class NoopJobHandler : IJobHandler
{
    public const string HandlerName = "noop";

    public Task<JobResult> ExecuteAsync(JobContext context, CancellationToken cancellationToken) => Task.FromResult(JobResult.Success());
}
