using Microsoft.Extensions.Options;

namespace Scheduler.Execution;

/// <summary>
/// How the jobs of one handler are retried, as named options keyed by the handler's name. Set in code with
/// <c>services.AddJobHandler&lt;T&gt;("name", o => ...)</c>; on a silo host, configuration section
/// <c>Scheduler:Handlers:&lt;name&gt;</c> overrides what the code set. A job's own settings override these.
/// </summary>
public sealed class JobHandlerOptions
{
    public const string SectionPrefix = "Scheduler:Handlers";

    /// <summary>Attempts a job of this handler gets unless it says otherwise; null: <see cref="JobLimits.DefaultMaxAttempts"/> (3).</summary>
    public int? MaxAttempts { get; set; }

    /// <summary>Backoff between attempts; settings left unset come from <see cref="RetryPolicy.Default"/>. Null: the defaults.</summary>
    public RetryPolicy? Retry { get; set; }

    /// <summary>
    /// When true, an exception the handler throws (other than a cancellation) fails the job at once (fatal, dead-lettered).
    /// Default false: an exception is retriable, like <c>JobResult.Retry</c>. Timeouts are always retriable.
    /// </summary>
    public bool ExceptionsAreFatal { get; set; }

    /// <summary>The problems with these options for handler <paramref name="handler"/>, each naming the setting; empty when valid.</summary>
    public IEnumerable<string> Validate(string handler)
    {
        var prefix = $"{SectionPrefix}:{handler}";
        if (MaxAttempts is < 1 or > JobLimits.MaxAllowedAttempts)
            yield return $"{prefix}:{nameof(MaxAttempts)} must be 1 to {JobLimits.MaxAllowedAttempts} (was {MaxAttempts})";
        foreach (var (setting, problem) in Retry?.Problems() ?? [])
            yield return $"{prefix}:{nameof(Retry)}:{setting}: {problem}";
    }

    internal sealed class Validator : IValidateOptions<JobHandlerOptions>
    {
        public ValidateOptionsResult Validate(string? name, JobHandlerOptions options)
        {
            var problems = options.Validate(name ?? "").ToList();
            return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
        }
    }
}
