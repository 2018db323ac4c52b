using System.Collections.Immutable;

namespace Scheduler.Workflows;

/// <summary>What the workflow grain must do after the graph changed (once the new state is stored).</summary>
public sealed class WorkflowEffects
{
    /// <summary>Jobs to submit and enqueue (now Queued in the state).</summary>
    public List<int> Release { get; } = [];

    /// <summary>Released jobs to cancel if they have not started yet (a FailWorkflow failure).</summary>
    public List<int> CancelIfQueued { get; } = [];

    /// <summary>Released jobs to cancel, running or not (the workflow was cancelled).</summary>
    public List<int> CancelAll { get; } = [];

    /// <summary>True when the state changed and must be written.</summary>
    public bool Changed { get; set; }

    /// <summary>Adds what <paramref name="other"/> asks for (a later change of the same graph).</summary>
    public void Merge(WorkflowEffects other)
    {
        Release.AddRange(other.Release);
        CancelIfQueued.AddRange(other.CancelIfQueued);
        CancelAll.AddRange(other.CancelAll);
        Changed |= other.Changed;
    }
}

/// <summary>
/// The rules of a workflow over its stored state: when a job is released, skipped or cancelled, and when the workflow
/// ends. Pure: no grain calls and no clock of its own, so every rule is unit-testable. Not thread-safe: the workflow
/// grain owns it.
/// </summary>
public sealed class WorkflowGraph
{
    private readonly List<List<(int Node, WorkflowFailurePolicy? Policy)>> _parents = [];
    private readonly List<List<(int Node, WorkflowFailurePolicy? Policy)>> _children = [];
    private readonly Dictionary<string, int> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<JobId, int> _byJob = [];
    private readonly int[] _counts = new int[Enum.GetValues<WorkflowJobState>().Max(s => (int)s) + 1];

    public WorkflowGraph(WorkflowId id, WorkflowGrainState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        Id = id;
        State = state;
        for (var i = 0; i < state.Nodes.Count; i++)
            Index(i);
    }

    public WorkflowId Id { get; }

    public WorkflowGrainState State { get; }

    public IReadOnlyList<WorkflowNode> Nodes => State.Nodes;

    public int Count(WorkflowJobState state) => _counts[(int)state];

    /// <summary>Jobs whose current run's job has been released and has not reported a final state.</summary>
    public int Released => _counts[(int)WorkflowJobState.Queued];

    public IReadOnlySet<string> Names => _byName.Keys.ToHashSet(StringComparer.Ordinal);

    public int Dependencies => _parents.Sum(p => p.Count);

    public long PayloadBytes => State.Nodes.Sum(n => (long)(n.Job.Payload.IsDefault ? 0 : n.Job.Payload.Length));

    public JobId JobIdOf(int node) => Id.JobIdOf(State.Nodes[node].Job.Name, State.Nodes[node].Run);

    /// <summary>The node whose current run is <paramref name="job"/>; null for an unknown job or an earlier run's.</summary>
    public int? NodeOf(JobId job) => _byJob.TryGetValue(job, out var node) ? node : null;

    public IReadOnlyList<string> ParentNames(int node) => [.. _parents[node].Select(p => State.Nodes[p.Node].Job.Name)];

    /// <summary>Appends jobs (already validated against this graph) as Waiting, and settles them.</summary>
    public WorkflowEffects Add(IReadOnlyList<WorkflowJob> jobs, DateTimeOffset now)
    {
        var effects = new WorkflowEffects { Changed = true };
        var first = State.Nodes.Count;
        foreach (var job in jobs)
        {
            State.Nodes.Add(new WorkflowNode { Job = job, State = WorkflowJobState.Waiting, Run = 1 });
            Index(State.Nodes.Count - 1);
        }
        if (State.State == WorkflowState.Succeeded)
            Reopen();
        Settle(Enumerable.Range(first, jobs.Count), now, effects);
        CheckCompletion(now);
        return effects;
    }

    /// <summary>The job of <paramref name="node"/> ended; a repeated or non-final report changes nothing.</summary>
    public WorkflowEffects Finished(int node, WorkflowJobEvent finished, DateTimeOffset now)
    {
        var effects = new WorkflowEffects();
        var n = State.Nodes[node];
        if (n.State.IsFinal() || !finished.State.IsFinal())
            return effects;
        Set(node, finished.State switch
        {
            JobState.Succeeded => WorkflowJobState.Succeeded,
            JobState.Failed => WorkflowJobState.Failed,
            _ => WorkflowJobState.Cancelled,
        });
        n.Attempt = finished.Attempt;
        n.StartedAt = finished.StartedAt;
        n.FinishedAt = finished.FinishedAt ?? now;
        n.LastError = finished.State == JobState.Succeeded ? null : finished.LastError;
        effects.Changed = true;
        if (n.State != WorkflowJobState.Succeeded && _children[node].Count == 0 && State.FailurePolicy == WorkflowFailurePolicy.FailWorkflow)
            FailFast($"job '{n.Job.Name}' {Describe(n.State)}", now, effects);
        Settle(_children[node].Select(c => c.Node), now, effects);
        CheckCompletion(now);
        return effects;
    }

    /// <summary>Cancels the workflow: jobs not released are Cancelled, released ones are to be cancelled.</summary>
    public WorkflowEffects Cancel(string reason, DateTimeOffset now)
    {
        var effects = new WorkflowEffects { Changed = true };
        if (!State.State.IsFinal())
        {
            State.State = WorkflowState.Cancelled;
            State.Reason = reason;
            State.FinishedAt = now;
            CancelUnreleased(reason, now);
        }
        for (var i = 0; i < State.Nodes.Count; i++)
        {
            if (State.Nodes[i].State == WorkflowJobState.Queued)
                effects.CancelAll.Add(i);
        }
        return effects;
    }

    public WorkflowEffects Pause()
    {
        State.State = WorkflowState.Paused;
        return new WorkflowEffects { Changed = true };
    }

    /// <summary>Running again: every Ready job is released.</summary>
    public WorkflowEffects Resume(DateTimeOffset now)
    {
        var effects = new WorkflowEffects { Changed = true };
        State.State = WorkflowState.Running;
        for (var i = 0; i < State.Nodes.Count; i++)
        {
            if (State.Nodes[i].State == WorkflowJobState.Ready)
                Release(i, effects);
        }
        CheckCompletion(now);
        return effects;
    }

    /// <summary>Jobs a rerun would run again: those that failed, were cancelled or were skipped.</summary>
    public IEnumerable<int> RerunCandidates() =>
        Enumerable.Range(0, State.Nodes.Count).Where(i => State.Nodes[i].State is WorkflowJobState.Failed or WorkflowJobState.Cancelled or WorkflowJobState.Skipped);

    /// <summary>
    /// Runs the failed part again: each failed, cancelled or skipped job gets a new run (a new job id) and waits for
    /// its parents again; succeeded jobs are kept. A final workflow is Running again.
    /// </summary>
    public WorkflowEffects Rerun(DateTimeOffset now)
    {
        var effects = new WorkflowEffects { Changed = true };
        var targets = RerunCandidates().ToList();
        foreach (var i in targets)
        {
            var n = State.Nodes[i];
            _byJob.Remove(JobIdOf(i));
            n.Run++;
            n.Attempt = 0;
            n.StartedAt = null;
            n.FinishedAt = null;
            n.LastError = null;
            n.HasJob = false;
            Set(i, WorkflowJobState.Waiting);
            _byJob[JobIdOf(i)] = i;
        }
        if (State.State.IsFinal())
            Reopen();
        Settle(targets, now, effects);
        CheckCompletion(now);
        return effects;
    }

    /// <summary>Parents before children; among jobs free to go, the order they were given in.</summary>
    public IReadOnlyList<int> TopologicalOrder()
    {
        var pending = _parents.Select(p => p.Count).ToArray();
        var ready = new PriorityQueue<int, int>();
        for (var i = 0; i < pending.Length; i++)
        {
            if (pending[i] == 0)
                ready.Enqueue(i, i);
        }
        var order = new List<int>(pending.Length);
        while (ready.TryDequeue(out var node, out _))
        {
            order.Add(node);
            foreach (var (child, _) in _children[node])
            {
                if (--pending[child] == 0)
                    ready.Enqueue(child, child);
            }
        }
        return order;
    }

    private void Index(int node)
    {
        var n = State.Nodes[node];
        _byName[n.Job.Name] = node;
        _byJob[JobIdOf(node)] = node;
        _parents.Add([]);
        _children.Add([]);
        _counts[(int)n.State]++;
        if (!n.Job.DependsOn.IsDefaultOrEmpty)
        {
            foreach (var dependency in n.Job.DependsOn)
            {
                var parent = _byName[dependency.Job];
                _parents[node].Add((parent, dependency.Policy));
                _children[parent].Add((node, dependency.Policy));
            }
        }
    }

    private void Set(int node, WorkflowJobState state)
    {
        _counts[(int)State.Nodes[node].State]--;
        State.Nodes[node].State = state;
        _counts[(int)state]++;
    }

    private void Reopen()
    {
        State.State = WorkflowState.Running;
        State.FinishedAt = null;
        State.Reason = null;
    }

    private enum Verdict { Wait, Ready, Skip, Fail }

    /// <summary>Decides, for each given Waiting job (and for the descendants of any that is skipped), whether it may run.</summary>
    private void Settle(IEnumerable<int> nodes, DateTimeOffset now, WorkflowEffects effects)
    {
        var work = new Stack<int>(nodes);
        while (work.TryPop(out var node))
        {
            var n = State.Nodes[node];
            if (n.State != WorkflowJobState.Waiting)
                continue;
            switch (Evaluate(node, out var parent))
            {
                case Verdict.Ready:
                    Set(node, WorkflowJobState.Ready);
                    effects.Changed = true;
                    if (State.State == WorkflowState.Running)
                        Release(node, effects);
                    break;
                case Verdict.Skip:
                    Set(node, WorkflowJobState.Skipped);
                    n.FinishedAt = now;
                    n.LastError = $"skipped: '{State.Nodes[parent].Job.Name}' {Describe(State.Nodes[parent].State)}";
                    effects.Changed = true;
                    foreach (var (child, _) in _children[node])
                        work.Push(child);
                    break;
                case Verdict.Fail:
                    FailFast($"job '{State.Nodes[parent].Job.Name}' {Describe(State.Nodes[parent].State)}, and '{n.Job.Name}' depends on it", now, effects);
                    break;
            }
        }
    }

    private Verdict Evaluate(int node, out int because)
    {
        var waiting = false;
        int? skip = null, fail = null;
        foreach (var (parent, policy) in _parents[node])
        {
            var state = State.Nodes[parent].State;
            if (state == WorkflowJobState.Succeeded)
                continue;
            if (!state.IsFinal())
            {
                waiting = true;
                continue;
            }
            switch (policy ?? State.FailurePolicy)
            {
                case WorkflowFailurePolicy.RunAnyway:
                    break;
                case WorkflowFailurePolicy.SkipDescendants:
                    skip ??= parent;
                    break;
                default:
                    fail ??= parent;
                    break;
            }
        }
        because = fail ?? skip ?? -1;
        return fail is not null ? Verdict.Fail : skip is not null ? Verdict.Skip : waiting ? Verdict.Wait : Verdict.Ready;
    }

    private void Release(int node, WorkflowEffects effects)
    {
        Set(node, WorkflowJobState.Queued);
        State.Nodes[node].HasJob = true;
        effects.Release.Add(node);
        effects.Changed = true;
    }

    /// <summary>A failure under FailWorkflow: the workflow fails, jobs not started are cancelled, running ones finish.</summary>
    private void FailFast(string reason, DateTimeOffset now, WorkflowEffects effects)
    {
        if (State.State.IsFinal())
            return;
        State.State = WorkflowState.Failed;
        State.Reason = reason;
        State.FinishedAt = now;
        effects.Changed = true;
        CancelUnreleased($"workflow failed: {reason}", now);
        for (var i = 0; i < State.Nodes.Count; i++)
        {
            if (State.Nodes[i].State == WorkflowJobState.Queued)
                effects.CancelIfQueued.Add(i);
        }
    }

    private void CancelUnreleased(string reason, DateTimeOffset now)
    {
        for (var i = 0; i < State.Nodes.Count; i++)
        {
            var n = State.Nodes[i];
            if (n.State is WorkflowJobState.Waiting or WorkflowJobState.Ready)
            {
                Set(i, WorkflowJobState.Cancelled);
                n.FinishedAt = now;
                n.LastError = reason;
            }
        }
    }

    /// <summary>Every job ended: the workflow succeeded if they all succeeded, and failed otherwise.</summary>
    private void CheckCompletion(DateTimeOffset now)
    {
        if (State.State.IsFinal())
            return;
        var final = Count(WorkflowJobState.Succeeded) + Count(WorkflowJobState.Failed) + Count(WorkflowJobState.Cancelled) + Count(WorkflowJobState.Skipped);
        if (final < State.Nodes.Count)
            return;
        var unsuccessful = State.Nodes.Count - Count(WorkflowJobState.Succeeded);
        State.State = unsuccessful == 0 ? WorkflowState.Succeeded : WorkflowState.Failed;
        State.Reason = unsuccessful == 0 ? null : $"{unsuccessful} of {State.Nodes.Count} jobs did not succeed";
        State.FinishedAt = now;
    }

    private static string Describe(WorkflowJobState state) => state switch
    {
        WorkflowJobState.Failed => "failed",
        WorkflowJobState.Cancelled => "was cancelled",
        WorkflowJobState.Skipped => "was skipped",
        _ => state.ToString().ToLowerInvariant(),
    };

    /// <summary>Counts of every state that has jobs.</summary>
    public ImmutableDictionary<WorkflowJobState, int> Counts() =>
        Enum.GetValues<WorkflowJobState>().Where(s => _counts[(int)s] > 0).ToImmutableDictionary(s => s, s => _counts[(int)s]);
}
