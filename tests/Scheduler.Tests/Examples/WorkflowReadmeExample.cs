using Scheduler.Client;
using Scheduler.Tests.Workflows;

namespace Scheduler.Tests.Examples;

// The workflow code shown in docs/workflows.md, compiled and run here so the page cannot drift from the API.

[Collection(WorkflowClusterCollection.Name)]
public sealed class WorkflowReadmeExample(Infrastructure.MemoryClusterFixture fixture)
{
    [Fact]
    public async Task SdkWorkflowExample_RunsTheDiamond()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var scheduler = fixture.Client;
        var cancellationToken = cts.Token;

        // docs: workflow
        static CommandJob Agent(string name) => new() { Executable = "/bin/sh", Arguments = ["-c", $"echo {name}"] };

        var workflow = await scheduler.SubmitWorkflowAsync(new WorkflowDefinition
        {
            Name = "upload-4711",
            Priority = 60,
            SizeHint = 1200, // at equal priority, smaller workflows go first
            FailurePolicy = WorkflowFailurePolicy.SkipDescendants,
            Jobs =
            [
                WorkflowJobs.Command("unpack", Agent("unpack")),
                WorkflowJobs.Command("nomos", Agent("nomos"), "unpack"),
                WorkflowJobs.Command("copyright", Agent("copyright"), "unpack"),
                WorkflowJobs.Command("reports", Agent("reports"),
                    "nomos", new WorkflowDependency("copyright", WorkflowFailurePolicy.RunAnyway)),
            ],
        }, cancellationToken);

        var status = await scheduler.WaitForWorkflowAsync(workflow.Id, TimeSpan.FromMinutes(5), cancellationToken);
        foreach (var job in status!.Jobs)
            Console.WriteLine($"{job.Name}: {job.State} ({job.StartedAt:HH:mm:ss} to {job.FinishedAt:HH:mm:ss})");
        // docs: end workflow

        Assert.Equal(WorkflowState.Succeeded, status.State);
        Assert.Equal(4, status.Counts[WorkflowJobState.Succeeded]);
    }
}
