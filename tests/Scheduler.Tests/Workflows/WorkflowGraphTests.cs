using Scheduler.Workflows;

namespace Scheduler.Tests.Workflows;

/// <summary>The release and failure rules of a workflow, on its state alone (no cluster).</summary>
public sealed class WorkflowGraphTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static WorkflowJob Job(string name, params WorkflowDependency[] dependsOn) =>
        new() { Name = name, Handler = "noop", DependsOn = [.. dependsOn] };

    private static (WorkflowGraph Graph, WorkflowEffects Start) Start(WorkflowFailurePolicy policy, params WorkflowJob[] jobs)
    {
        var graph = new WorkflowGraph(WorkflowId.New(), new WorkflowGrainState { State = WorkflowState.Running, FailurePolicy = policy });
        return (graph, graph.Add(jobs, Now));
    }

    private static WorkflowEffects End(WorkflowGraph graph, string name, JobState state)
    {
        var node = Enumerable.Range(0, graph.Nodes.Count).Single(i => graph.Nodes[i].Job.Name == name);
        return graph.Finished(node, new WorkflowJobEvent(graph.JobIdOf(node), state, 1, Now, Now, state == JobState.Succeeded ? null : "boom"), Now);
    }

    private static WorkflowJobState StateOf(WorkflowGraph graph, string name) => graph.Nodes.Single(n => n.Job.Name == name).State;

    private static string[] Names(WorkflowGraph graph, IEnumerable<int> nodes) => [.. nodes.Select(i => graph.Nodes[i].Job.Name).Order()];

    [Fact]
    public void Diamond_ReleasesTheJoinOnlyWhenBothParentsSucceeded()
    {
        var (graph, start) = Start(WorkflowFailurePolicy.FailWorkflow, Job("a"), Job("b", "a"), Job("c", "a"), Job("d", "b", "c"));
        Assert.Equal(["a"], Names(graph, start.Release));

        Assert.Equal(["b", "c"], Names(graph, End(graph, "a", JobState.Succeeded).Release));
        Assert.Empty(End(graph, "b", JobState.Succeeded).Release);
        Assert.Equal(WorkflowJobState.Waiting, StateOf(graph, "d"));
        Assert.Equal(["d"], Names(graph, End(graph, "c", JobState.Succeeded).Release));
        End(graph, "d", JobState.Succeeded);
        Assert.Equal(WorkflowState.Succeeded, graph.State.State);
    }

    [Fact]
    public void FailWorkflow_CancelsWhatHasNotStarted_AndAsksToCancelQueuedJobs()
    {
        var (graph, _) = Start(WorkflowFailurePolicy.FailWorkflow, Job("a"), Job("x"), Job("b", "a"), Job("y", "x"));

        var effects = End(graph, "a", JobState.Failed);

        Assert.Equal(WorkflowState.Failed, graph.State.State);
        Assert.Contains("'a' failed", graph.State.Reason);
        Assert.Equal(WorkflowJobState.Cancelled, StateOf(graph, "b"));
        Assert.Equal(WorkflowJobState.Cancelled, StateOf(graph, "y"));
        Assert.Equal(["x"], Names(graph, effects.CancelIfQueued));
        // x was running and ends well: nothing more is released in a failed workflow.
        Assert.Empty(End(graph, "x", JobState.Succeeded).Release);
    }

    [Fact]
    public void SkipDescendants_SkipsTheWholeSubtree_AndTheRestGoesOn()
    {
        var (graph, _) = Start(WorkflowFailurePolicy.SkipDescendants, Job("a"), Job("b", "a"), Job("c", "b"), Job("x"), Job("y", "x"));

        End(graph, "a", JobState.Cancelled);

        Assert.Equal(WorkflowJobState.Skipped, StateOf(graph, "b"));
        Assert.Equal(WorkflowJobState.Skipped, StateOf(graph, "c"));
        Assert.Equal(WorkflowState.Running, graph.State.State);
        Assert.Equal(["y"], Names(graph, End(graph, "x", JobState.Succeeded).Release));
        End(graph, "y", JobState.Succeeded);
        Assert.Equal(WorkflowState.Failed, graph.State.State);
        Assert.Equal("3 of 5 jobs did not succeed", graph.State.Reason);
    }

    [Fact]
    public void RunAnywayEdge_ReleasesTheChildAfterAFailedParent_ButOtherEdgesKeepTheWorkflowPolicy()
    {
        var (graph, _) = Start(WorkflowFailurePolicy.SkipDescendants,
            Job("a"), Job("report", new WorkflowDependency("a", WorkflowFailurePolicy.RunAnyway)), Job("next", "a"));

        var effects = End(graph, "a", JobState.Failed);

        Assert.Equal(["report"], Names(graph, effects.Release));
        Assert.Equal(WorkflowJobState.Skipped, StateOf(graph, "next"));
    }

    [Fact]
    public void Pause_HoldsReadyJobs_AndResumeReleasesThem()
    {
        var (graph, _) = Start(WorkflowFailurePolicy.FailWorkflow, Job("a"), Job("b", "a"));
        graph.Pause();

        Assert.Empty(End(graph, "a", JobState.Succeeded).Release);
        Assert.Equal(WorkflowJobState.Ready, StateOf(graph, "b"));
        Assert.Equal(["b"], Names(graph, graph.Resume(Now).Release));
    }

    [Fact]
    public void Rerun_GivesFailedAndSkippedJobsANewRun_AndKeepsSucceededOnes()
    {
        var (graph, _) = Start(WorkflowFailurePolicy.SkipDescendants, Job("a"), Job("b", "a"), Job("c", "b"));
        End(graph, "a", JobState.Succeeded);
        var firstB = graph.JobIdOf(1);
        End(graph, "b", JobState.Failed);
        Assert.Equal(WorkflowState.Failed, graph.State.State);

        var effects = graph.Rerun(Now);

        Assert.Equal(WorkflowState.Running, graph.State.State);
        Assert.Equal(["b"], Names(graph, effects.Release));
        Assert.Equal(1, graph.Nodes[0].Run);
        Assert.Equal(2, graph.Nodes[1].Run);
        Assert.NotEqual(firstB, graph.JobIdOf(1));
        Assert.Null(graph.NodeOf(firstB));
        Assert.Equal(WorkflowJobState.Waiting, StateOf(graph, "c"));
    }

    [Fact]
    public void Add_ReleasesAChildOfASucceededParentAtOnce_AndReopensASucceededWorkflow()
    {
        var (graph, _) = Start(WorkflowFailurePolicy.FailWorkflow, Job("a"));
        End(graph, "a", JobState.Succeeded);
        Assert.Equal(WorkflowState.Succeeded, graph.State.State);

        var effects = graph.Add([Job("late", "a")], Now);

        Assert.Equal(WorkflowState.Running, graph.State.State);
        Assert.Equal(["late"], Names(graph, effects.Release));
    }
}
