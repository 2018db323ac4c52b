using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Serialization;
using Orleans.Storage;
using Scheduler.Client;
using Scheduler.Hosting;
using Scheduler.Retention;
using Scheduler.Storage;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.Workflows;

/// <summary>
/// A workflow stored before schema version 5, in the Orleans grain storage, on a silo of its own: whether such state
/// exists is asked once per silo, before the first workflow of the silo is read, so no other workflow may come first.
/// </summary>
public sealed class LegacyWorkflowStateTests(EmbeddedSchedulerFixture fixture) : IClassFixture<EmbeddedSchedulerFixture>
{
    [Fact]
    public async Task WorkflowStoredBeforeSchemaVersion5_IsReadFromOrleansStorage_FinishesAndEndsUpInItsRow()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var id = WorkflowId.New();
        var store = fixture.SiloServices.GetRequiredService<IWorkflowStore>();
        // Its first job ran and succeeded, but the report of its end was lost (it was recorded without the workflow).
        var firstJob = id.JobIdOf("first", 1);
        await fixture.Client.SubmitAsync(new JobRequest { Handler = CountingHandler.Name, Id = firstJob }, cts.Token);
        Assert.Equal(JobState.Succeeded, (await fixture.Client.WaitForFinalAsync(firstJob, TimeSpan.FromSeconds(60), cts.Token))!.State);
        var created = DateTimeOffset.UtcNow.AddMinutes(-5);
        var legacy = new WorkflowGrainState
        {
            State = WorkflowState.Running,
            Name = "legacy",
            Tenant = JobRequest.DefaultTenant,
            Priority = JobPriority.Default,
            FailurePolicy = WorkflowFailurePolicy.FailWorkflow,
            CreatedAt = created,
            ReminderRegistered = true,
            Nodes =
            [
                new WorkflowNode { Job = new WorkflowJob { Name = "first", Handler = CountingHandler.Name }, State = WorkflowJobState.Queued, HasJob = true, StartedAt = created },
                new WorkflowNode { Job = new WorkflowJob { Name = "second", Handler = CountingHandler.Name, DependsOn = ["first"] }, State = WorkflowJobState.Waiting },
            ],
        };
        var grainId = fixture.Cluster.Client.GetGrain<IWorkflowGrain>(id.Value).GetGrainId();
        var orleansStorage = fixture.SiloServices.GetRequiredKeyedService<IGrainStorage>(EmbeddedSchedulerStorage.StorageProviderName);
        await orleansStorage.WriteStateAsync(WorkflowGrainStorage.StateName, grainId, new GrainState<WorkflowGrainState>(legacy)).WaitAsync(cts.Token);
        Assert.True(await fixture.SiloServices.GetRequiredService<LegacyState>().HasStateAsync(WorkflowGrainStorage.StateName, cts.Token).WaitAsync(cts.Token));
        Assert.Empty(await store.ReadWorkflowsAsync([id], cts.Token).WaitAsync(cts.Token));

        // Its first activation finds it in the Orleans grain storage, learns the first job's end from the job and goes on.
        var status = await fixture.Client.WaitForWorkflowAsync(id, TimeSpan.FromSeconds(60), cts.Token);

        Assert.Equal(WorkflowState.Succeeded, status!.State);
        Assert.Equal("legacy", status.Name);
        Assert.All(status.Jobs, j => Assert.Equal(WorkflowJobState.Succeeded, j.State));
        Assert.Equal(1, fixture.Runs.Of(firstJob));
        Assert.Equal(1, fixture.Runs.Of(id.JobIdOf("second", 1)));
        var row = Assert.Single(await store.ReadWorkflowsAsync([id], cts.Token).WaitAsync(cts.Token)).Value;
        var stored = fixture.SiloServices.GetRequiredService<Serializer>().Deserialize<WorkflowGrainState>(row.Data);
        Assert.Equal(WorkflowState.Succeeded, stored!.State);
        Assert.Equal(created, stored.CreatedAt);
        // Read back from its row once its grain is gone.
        await fixture.Cluster.DeactivateAsync(fixture.Cluster.Client.GetGrain<IWorkflowGrain>(id.Value)).WaitAsync(cts.Token);
        var reread = await fixture.Client.GetWorkflowAsync(id, cts.Token);
        Assert.Equal((WorkflowState.Succeeded, "legacy"), (reread!.State, reread.Name));

        // Retention keeps it, a day on with a minute's retention: without its row, its grain would read the old state.
        var options = new SchedulerOptions();
        options.Retention.Succeeded = TimeSpan.FromMinutes(1);
        var pruner = new RetentionPruner(fixture.SiloServices.GetRequiredService<IRetentionStore>(), Options.Create(options), new DayLater(),
            NullLogger<RetentionPruner>.Instance, fixture.SiloServices.GetRequiredService<LegacyState>());
        var run = await pruner.RunAsync(cts.Token).WaitAsync(cts.Token);

        Assert.Equal(0, run.Workflows);
        Assert.Single(await store.ReadWorkflowsAsync([id], cts.Token).WaitAsync(cts.Token));
    }

    private sealed class DayLater : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => base.GetUtcNow().AddDays(1);
    }
}
