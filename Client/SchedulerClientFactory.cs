using Microsoft.Extensions.Options;

namespace Scheduler.Client;

/// <summary>Builds the SDK on an Orleans client (or silo grain factory) the application already has.</summary>
public static class SchedulerClientFactory
{
    /// <summary>
    /// An <see cref="ISchedulerClient"/> over <paramref name="cluster"/>; throws when <paramref name="options"/> are
    /// invalid.
    /// </summary>
    public static ISchedulerClient Create(IClusterClient cluster, SchedulerClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        options ??= new SchedulerClientOptions();
        var problems = options.Validate().ToList();
        if (problems.Count > 0)
            throw new OptionsValidationException(nameof(SchedulerClientOptions), typeof(SchedulerClientOptions), problems);
        return new SchedulerClient(cluster, Options.Create(options));
    }
}
