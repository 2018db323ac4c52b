using Scheduler.Client;
using Scheduler.Tests.Chaos;
using Scheduler.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Scheduler.Tests.Workflows;

/// <summary>A workflow on real PostgreSQL survives its silo being killed (kill -9) and started again.</summary>
public sealed class WorkflowRestartTests(ITestOutputHelper output) : IAsyncLifetime
{
    private PostgresServer.Lease? _postgres;

    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        _postgres = await PostgresServer.AcquireAsync(cts.Token).WaitAsync(cts.Token);
    }

    public async Task DisposeAsync()
    {
        if (_postgres is not null)
            await _postgres.DisposeAsync();
    }

    [Fact]
    public async Task Workflow_GoesOnWhereItWas_AfterItsSiloIsKilledAndRestarted()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var files = Directory.CreateTempSubdirectory("workflow-restart-").FullName;
        var gate = Path.Combine(files, "gate");
        try
        {
            var database = await _postgres!.Server.CreateDatabaseAsync("workflow", cts.Token);
            await using var cluster = await ChaosCluster.CreateAsync(output, database, silos: 1, maxConcurrentJobs: 4, cts.Token);
            await cluster.StartAllAsync(cts.Token);
            var client = await cluster.ConnectAsync(cts.Token);

            static CommandJob Echo(string text) => new() { Executable = "/bin/echo", Arguments = [text] };
            var submitted = await client.SubmitWorkflowAsync(new WorkflowDefinition
            {
                Name = "restart",
                Priority = 70,
                Jobs =
                [
                    WorkflowJobs.Command("first", Echo("first")),
                    // Runs until the gate file exists: the silo dies under it.
                    WorkflowJobs.Command("gate", new CommandJob { Executable = "/bin/sh", Arguments = ["-c", "while [ ! -e \"$0\" ]; do sleep 0.05; done", gate] }, "first"),
                    WorkflowJobs.Command("left", Echo("left"), "gate"),
                    WorkflowJobs.Command("right", Echo("right"), "gate"),
                    WorkflowJobs.Command("join", Echo("join"), "left", "right"),
                ],
            }, cts.Token);
            while ((await client.GetWorkflowAsync(submitted.Id, cts.Token))!.Jobs.Single(j => j.Name == "gate").State != WorkflowJobState.Running)
                await Task.Delay(50, cts.Token);

            cluster.Silos[0].Kill();
            cluster.Log("killed the silo while 'gate' ran");
            await cluster.StartAllAsync(cts.Token);
            client = await cluster.ConnectAsync(cts.Token);
            cluster.Log("silo restarted");

            var after = await client.GetWorkflowAsync(submitted.Id, cts.Token);
            Assert.NotNull(after);
            Assert.Equal(WorkflowState.Running, after.State);
            Assert.Equal("restart", after.Name);
            Assert.Equal(WorkflowJobState.Succeeded, after.Jobs.Single(j => j.Name == "first").State);
            Assert.Equal(WorkflowJobState.Waiting, after.Jobs.Single(j => j.Name == "join").State);

            await File.WriteAllTextAsync(gate, "", cts.Token);
            var status = await client.WaitForWorkflowAsync(submitted.Id, TimeSpan.FromMinutes(2), cts.Token);

            Assert.Equal(WorkflowState.Succeeded, status!.State);
            Assert.All(status.Jobs, j => Assert.Equal(WorkflowJobState.Succeeded, j.State));
            Assert.All(status.Jobs, j => Assert.Equal(1, j.Run));
            Assert.Equal(1, status.Jobs.Single(j => j.Name == "first").Attempt);
            // The gate's first attempt died with the silo; it ran again as a new attempt of the same job.
            Assert.True(status.Jobs.Single(j => j.Name == "gate").Attempt >= 2);
            var join = status.Jobs.Single(j => j.Name == "join");
            Assert.True(join.StartedAt >= status.Jobs.Where(j => j.Name is "left" or "right").Max(j => j.FinishedAt));
            Assert.Equal(70, (await client.GetStatusAsync(join.JobId!.Value, cts.Token))!.Priority);
            cluster.Passed();
        }
        finally
        {
            File.WriteAllText(gate, "");
            await Task.Delay(200, CancellationToken.None);
            Directory.Delete(files, recursive: true);
        }
    }
}
