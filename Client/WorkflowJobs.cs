namespace Scheduler.Client;

/// <summary>Builds the jobs of a workflow: a command, or any handler with a JSON payload.</summary>
public static class WorkflowJobs
{
    /// <summary>A job for the built-in "command" handler.</summary>
    public static WorkflowJob Command(string name, CommandJob command, params WorkflowDependency[] dependsOn)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentException.ThrowIfNullOrWhiteSpace(command.Executable, nameof(command.Executable));
        return Handler(name, CommandJob.HandlerName, command, dependsOn);
    }

    /// <summary>A job for <paramref name="handler"/> whose payload is <paramref name="payload"/> as JSON.</summary>
    public static WorkflowJob Handler<TPayload>(string name, string handler, TPayload payload, params WorkflowDependency[] dependsOn) => new()
    {
        Name = name,
        Handler = handler,
        Payload = SchedulerClientExtensions.ToPayload(payload),
        DependsOn = [.. dependsOn],
    };
}
