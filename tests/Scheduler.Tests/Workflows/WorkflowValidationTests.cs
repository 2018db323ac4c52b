using System.Collections.Immutable;

namespace Scheduler.Tests.Workflows;

/// <summary>The pure checks every entry point applies to a workflow before anything is stored.</summary>
public sealed class WorkflowValidationTests
{
    private static WorkflowJob Job(string name, params WorkflowDependency[] dependsOn) =>
        new() { Name = name, Handler = "noop", DependsOn = [.. dependsOn] };

    private static WorkflowDefinition Workflow(params WorkflowJob[] jobs) => new() { Jobs = [.. jobs] };

    private static ImmutableArray<RequestError> Check(WorkflowDefinition definition) =>
        WorkflowValidation.Check(definition, JobRequest.DefaultMaxPayloadBytes);

    [Fact]
    public void Check_AcceptsAFanOutFanInGraph()
    {
        var errors = Check(Workflow(
            Job("unpack"), Job("adj2nest", "unpack"),
            Job("nomos", "adj2nest"), Job("monk", "adj2nest"), Job("ojo", "adj2nest"), Job("copyright", "adj2nest"),
            Job("reports", "nomos", "monk", "ojo", new WorkflowDependency("copyright", WorkflowFailurePolicy.RunAnyway))));

        Assert.Empty(errors);
    }

    [Fact]
    public void Check_RefusesACycle_NamingEveryJobInIt()
    {
        var errors = Check(Workflow(Job("start"), Job("a", "start", "c"), Job("b", "a"), Job("c", "b"), Job("after", "c")));

        var error = Assert.Single(errors);
        Assert.Equal(SchedulerErrorCode.InvalidRequest, error.Code);
        Assert.Contains("cycle", error.Message);
        // The cycle is reported in dependency order, starting anywhere on it.
        Assert.Matches(@"(a → b → c → a|b → c → a → b|c → a → b → c)", error.Message);
        Assert.DoesNotContain("start", error.Message);
        Assert.DoesNotContain("after", error.Message);
    }

    [Fact]
    public void Check_RefusesASelfDependency()
    {
        var error = Assert.Single(Check(Workflow(Job("a", "a"))));
        Assert.Contains("'a' depends on itself", error.Message);
    }

    [Fact]
    public void Check_RefusesAnUnknownDependency_NamingBothJobs()
    {
        var error = Assert.Single(Check(Workflow(Job("a"), Job("b", "a", "missing"))));
        Assert.Equal(1, error.Index);
        Assert.Contains("job 'b' depends on 'missing', which is not a job of this workflow", error.Message);
    }

    [Fact]
    public void Check_RefusesDuplicateNames_AndADependencyGivenTwice()
    {
        var errors = Check(Workflow(Job("a"), Job("a"), Job("b", "a", "a")));

        Assert.Contains(errors, e => e.Index == 1 && e.Message.Contains("job name 'a' is used twice"));
        Assert.Contains(errors, e => e.Index == 2 && e.Message.Contains("'b' depends on 'a' twice"));
    }

    [Fact]
    public void Check_RefusesAWorkflowOverTheJobLimit()
    {
        var jobs = Enumerable.Range(0, WorkflowLimits.MaxJobs + 1).Select(i => Job($"j{i}")).ToArray();

        var error = Assert.Single(Check(Workflow(jobs)));
        Assert.Contains($"at most {WorkflowLimits.MaxJobs} jobs", error.Message);
    }

    [Fact]
    public void Check_AcceptsAWorkflowAtTheJobLimit()
    {
        // A long chain at the limit: validation stays fast and needs no recursion.
        var jobs = Enumerable.Range(0, WorkflowLimits.MaxJobs).Select(i => i == 0 ? Job("j0") : Job($"j{i}", $"j{i - 1}")).ToArray();

        Assert.Empty(Check(Workflow(jobs)));
    }

    [Fact]
    public void Check_AppliesTheJobRules_ToEveryJob()
    {
        var errors = Check(Workflow(
            Job("ok"),
            Job("bad name!"),
            Job("big") with { Payload = [.. new byte[JobRequest.DefaultMaxPayloadBytes + 1]] },
            Job("tries") with { Limits = new JobLimits { MaxAttempts = 0 } },
            Job("queue") with { Queue = "" }));

        Assert.Contains(errors, e => e.Index == 1 && e.Message.Contains("'bad name!' is not a valid name"));
        Assert.Contains(errors, e => e.Index == 2 && e.Code == SchedulerErrorCode.PayloadTooLarge && e.Message.StartsWith("job 'big': payload is"));
        Assert.Contains(errors, e => e.Index == 3 && e.Message.Contains("job 'tries': max attempts 0 is out of range"));
        Assert.Contains(errors, e => e.Index == 4 && e.Message.Contains("job 'queue': queue '' is not a valid name"));
        Assert.DoesNotContain(errors, e => e.Index == 0);
    }

    [Fact]
    public void Check_RefusesBadWorkflowSettings()
    {
        var errors = Check(Workflow(Job("a")) with { Priority = 101, SizeHint = -1, Tenant = "", FailurePolicy = (WorkflowFailurePolicy)9 });

        Assert.Contains(errors, e => e.Message.Contains("priority 101 is out of range"));
        Assert.Contains(errors, e => e.Message.Contains("size hint -1 must be 0 or more"));
        Assert.Contains(errors, e => e.Message.Contains("tenant '' is not a valid name"));
        Assert.Contains(errors, e => e.Message.Contains("failure policy 9 is not one of FailWorkflow, SkipDescendants, RunAnyway"));
        Assert.Contains(Check(Workflow()), e => e.Message.Contains("at least one job"));
    }

    [Fact]
    public void CheckJobs_LetsNewJobsDependOnExistingOnes_ButNotReuseTheirNames()
    {
        var existing = new HashSet<string> { "unpack", "nomos" };

        Assert.Empty(WorkflowValidation.CheckJobs(existing, 1, 0, [Job("report", "nomos"), Job("mail", "report", "unpack")], "default", 50, 1024));
        var errors = WorkflowValidation.CheckJobs(existing, 1, 0, [Job("nomos"), Job("x", "y"), Job("y", "x")], "default", 50, 1024);
        Assert.Contains(errors, e => e.Message.Contains("'nomos' is used twice"));
        Assert.Contains(errors, e => e.Message.Contains("cycle: x → y → x") || e.Message.Contains("cycle: y → x → y"));
    }

    [Fact]
    public void JobIdOf_IsStablePerWorkflowJobAndRun()
    {
        var workflow = WorkflowId.New();

        Assert.Equal(workflow.JobIdOf("nomos", 1), workflow.JobIdOf("nomos", 1));
        Assert.NotEqual(workflow.JobIdOf("nomos", 1), workflow.JobIdOf("nomos", 2));
        Assert.NotEqual(workflow.JobIdOf("nomos", 1), workflow.JobIdOf("monk", 1));
        Assert.NotEqual(workflow.JobIdOf("nomos", 1), WorkflowId.New().JobIdOf("nomos", 1));
    }
}
