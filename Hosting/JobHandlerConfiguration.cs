using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Scheduler.Execution;

namespace Scheduler.Hosting;

/// <summary>
/// Applies section <c>Scheduler:Handlers:&lt;name&gt;</c> (MaxAttempts, ExceptionsAreFatal, Retry:InitialDelay,
/// Retry:Multiplier, Retry:MaxDelay, Retry:Jitter) over what the code registered for handler &lt;name&gt;: a setting
/// given in configuration wins, one left out keeps the code's value.
/// </summary>
internal sealed class JobHandlerConfiguration(IConfiguration handlers) : IPostConfigureOptions<JobHandlerOptions>
{
    public void PostConfigure(string? name, JobHandlerOptions options)
    {
        if (string.IsNullOrEmpty(name))
            return;
        var section = handlers.GetSection(name);
        if (!section.Exists())
            return;
        if (section.GetValue<int?>(nameof(JobHandlerOptions.MaxAttempts)) is { } maxAttempts)
            options.MaxAttempts = maxAttempts;
        if (section.GetValue<bool?>(nameof(JobHandlerOptions.ExceptionsAreFatal)) is { } fatal)
            options.ExceptionsAreFatal = fatal;
        // A fresh instance, laid over the code's policy setting by setting (the code's instance is never changed).
        if (section.GetSection(nameof(JobHandlerOptions.Retry)).Get<RetryPolicy>() is { } retry)
            options.Retry = retry.Over(options.Retry);
    }
}
