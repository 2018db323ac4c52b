using System.Collections.Immutable;

namespace Scheduler;

/// <summary>
/// The rules a workflow must meet before anything of it is stored, applied alike by the SDK, the CLI and the silo.
/// Pure: no silo needed. Errors carry the index of the job they are about (-1: the workflow itself).
/// </summary>
public static class WorkflowValidation
{
    /// <summary>Checks a whole definition; empty when it is well-formed.</summary>
    public static ImmutableArray<RequestError> Check(WorkflowDefinition definition, int maxPayloadBytes)
    {
        if (definition is null)
            return [Error(-1, "workflow is null")];
        var errors = ImmutableArray.CreateBuilder<RequestError>();
        if (definition.Id is { } id && id.Value == Guid.Empty)
            errors.Add(Error(-1, "workflow id must not be the empty GUID"));
        if (definition.Name is { } name && (string.IsNullOrWhiteSpace(name) || name.Length > WorkflowLimits.MaxLabelLength))
            errors.Add(Error(-1, $"workflow name must be 1 to {WorkflowLimits.MaxLabelLength} characters and not blank"));
        if (!RequestValidation.IsName(definition.Tenant))
            errors.Add(Error(-1, $"tenant '{definition.Tenant}' is not a valid name ({RequestValidation.NameRule})"));
        if (!JobPriority.IsValid(definition.Priority))
            errors.Add(Error(-1, $"priority {definition.Priority} is out of range: use {JobPriority.Min} (lowest) to {JobPriority.Max} (highest)"));
        if (definition.SizeHint is < 0)
            errors.Add(Error(-1, $"size hint {definition.SizeHint} must be 0 or more"));
        if (!Enum.IsDefined(definition.FailurePolicy))
            errors.Add(Error(-1, $"failure policy {(int)definition.FailurePolicy} is not one of {PolicyNames}"));
        if (definition.Jobs.IsDefaultOrEmpty)
            errors.Add(Error(-1, "a workflow needs at least one job"));
        if (RequestValidation.NotBeforeProblem(definition.NotBefore) is { } notBeforeProblem)
            errors.Add(Error(-1, notBeforeProblem));
        if (definition.Webhook?.Problem() is { } webhookProblem)
            errors.Add(Error(-1, webhookProblem));
        if (errors.Count > 0)
            return errors.ToImmutable();
        return CheckJobs(new HashSet<string>(), 0, 0, definition.Jobs, definition.Tenant, definition.Priority, maxPayloadBytes);
    }

    /// <summary>
    /// Checks jobs to be added to a workflow that already has the jobs <paramref name="existing"/> (with
    /// <paramref name="existingDependencies"/> dependencies and <paramref name="existingPayloadBytes"/> payload bytes):
    /// they may depend on existing jobs and on each other, but must not repeat a name or form a cycle.
    /// </summary>
    public static ImmutableArray<RequestError> CheckJobs(IReadOnlySet<string> existing, int existingDependencies, long existingPayloadBytes,
        ImmutableArray<WorkflowJob> jobs, string tenant, int priority, int maxPayloadBytes)
    {
        ArgumentNullException.ThrowIfNull(existing);
        if (jobs.IsDefaultOrEmpty)
            return [Error(-1, "no jobs given")];
        if (existing.Count + jobs.Length > WorkflowLimits.MaxJobs)
            return [Error(-1, $"a workflow has at most {WorkflowLimits.MaxJobs} jobs; this one would have {existing.Count + jobs.Length}")];

        var errors = ImmutableArray.CreateBuilder<RequestError>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        long payloadBytes = existingPayloadBytes;
        var dependencies = existingDependencies;
        for (var i = 0; i < jobs.Length; i++)
        {
            var job = jobs[i];
            if (job is null)
            {
                errors.Add(Error(i, $"job #{i} is null"));
                continue;
            }
            if (!RequestValidation.IsName(job.Name))
                errors.Add(Error(i, $"job name '{job.Name}' is not a valid name ({RequestValidation.NameRule})"));
            else if (existing.Contains(job.Name) || !index.TryAdd(job.Name, i))
                errors.Add(Error(i, $"job name '{job.Name}' is used twice; names must be unique in a workflow"));
            if (RequestValidation.Check(ToRequest(job, tenant, priority), maxPayloadBytes) is { } problem)
                errors.Add(new RequestError(i, problem.Code, $"job '{job.Name}': {problem.Message}"));
            payloadBytes += job.Payload.IsDefault ? 0 : job.Payload.Length;
            dependencies += job.DependsOn.IsDefault ? 0 : job.DependsOn.Length;
        }
        if (payloadBytes > WorkflowLimits.MaxTotalPayloadBytes)
            errors.Add(new RequestError(-1, SchedulerErrorCode.PayloadTooLarge,
                $"the jobs' payloads add up to {payloadBytes} bytes; a workflow may have at most {WorkflowLimits.MaxTotalPayloadBytes} bytes"));
        if (dependencies > WorkflowLimits.MaxDependencies)
            errors.Add(Error(-1, $"a workflow has at most {WorkflowLimits.MaxDependencies} dependencies; this one would have {dependencies}"));

        // Dependencies: known parents, no self-dependency, no parent twice, a defined policy.
        var parents = new List<int>[jobs.Length];
        for (var i = 0; i < jobs.Length; i++)
        {
            parents[i] = [];
            var job = jobs[i];
            if (job is null || job.DependsOn.IsDefaultOrEmpty)
                continue;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var dependency in job.DependsOn)
            {
                if (dependency?.Job is not { } parent)
                {
                    errors.Add(Error(i, $"job '{job.Name}' has an empty dependency"));
                    continue;
                }
                if (dependency.Policy is { } policy && !Enum.IsDefined(policy))
                    errors.Add(Error(i, $"job '{job.Name}': the policy of its dependency on '{parent}' is not one of {PolicyNames}"));
                if (!seen.Add(parent))
                    errors.Add(Error(i, $"job '{job.Name}' depends on '{parent}' twice"));
                else if (parent == job.Name)
                    errors.Add(Error(i, $"job '{job.Name}' depends on itself"));
                else if (index.TryGetValue(parent, out var p))
                    parents[i].Add(p);
                else if (!existing.Contains(parent))
                    errors.Add(Error(i, $"job '{job.Name}' depends on '{parent}', which is not a job of this workflow"));
            }
        }

        if (FindCycle(parents) is { } cycle)
        {
            var names = cycle.Select(i => jobs[i].Name).Append(jobs[cycle[0]].Name);
            errors.Add(Error(cycle[0], $"the dependencies form a cycle: {string.Join(" → ", names)}"));
        }
        return errors.ToImmutable();
    }

    /// <summary>The request a workflow's job is submitted with (its id and workflow are set on release).</summary>
    public static JobRequest ToRequest(WorkflowJob job, string tenant, int priority) => new()
    {
        Handler = job.Handler,
        Payload = job.Payload.IsDefault ? [] : job.Payload,
        Queue = job.Queue,
        Tenant = tenant,
        Priority = priority,
        Limits = job.Limits,
        Concurrency = job.Concurrency,
        Exclusive = job.Exclusive,
    };

    /// <summary>
    /// One cycle among the nodes (each listed with its parents), in dependency order (each node is a parent of the
    /// next, and the last a parent of the first); null when the graph is acyclic.
    /// </summary>
    public static IReadOnlyList<int>? FindCycle(IReadOnlyList<List<int>> parents)
    {
        // Kahn: peel off nodes whose parents are all gone. What is left has a cycle, and every node left has a parent
        // left, so walking up parents from any of them must come back to a node already seen.
        var count = parents.Count;
        var pending = new int[count];
        var children = new List<int>[count];
        for (var i = 0; i < count; i++)
            children[i] = [];
        for (var i = 0; i < count; i++)
        {
            pending[i] = parents[i].Count;
            foreach (var p in parents[i])
                children[p].Add(i);
        }
        var ready = new Queue<int>(Enumerable.Range(0, count).Where(i => pending[i] == 0));
        var removed = new bool[count];
        while (ready.TryDequeue(out var node))
        {
            removed[node] = true;
            foreach (var child in children[node])
            {
                if (--pending[child] == 0)
                    ready.Enqueue(child);
            }
        }
        var start = Array.IndexOf(removed, false);
        if (start < 0)
            return null;

        var position = new Dictionary<int, int>();
        var path = new List<int>();
        var current = start;
        while (!position.ContainsKey(current))
        {
            position[current] = path.Count;
            path.Add(current);
            current = parents[current].First(p => !removed[p]);
        }
        var cycle = path.GetRange(position[current], path.Count - position[current]);
        cycle.Reverse(); // walked child → parent; report parent → child
        return cycle;
    }

    private static readonly string PolicyNames = string.Join(", ", Enum.GetNames<WorkflowFailurePolicy>());

    private static RequestError Error(int index, string message) => new(index, SchedulerErrorCode.InvalidRequest, message);
}
