using System.Diagnostics;
using System.Text.Json;
using Scheduler.Client;

namespace Scheduler.Bench;

/// <summary>
/// Workflow load: many small workflows of 4 no-op jobs, chains (a → b → c → d) or diamonds (a → b, c → d), submitted
/// at once. Measures jobs per second end to end and, per dependency, the time from the parent's end to the child's
/// start as the scheduler recorded them.
/// </summary>
public static class WorkflowBench
{
    public const int JobsPerWorkflow = 4;

    public static async Task<bool> RunAsync(ISchedulerClient client, BenchSettings s, long succeededBefore, CancellationToken ct)
    {
        var count = (s.Jobs + JobsPerWorkflow - 1) / JobsPerWorkflow;

        // Warm up the workflow paths (JIT tiers, connection pools) on a tenth as many workflows of the same shape,
        // as the job benchmark warms up the job paths: the figures below are the steady state's.
        var warm = Definitions(s.Workflows!, Math.Max(100, count / 10));
        await SubmitAllAsync(client, warm, ct);
        await WaitAllAsync(client, warm, s.Timeout, ct);
        succeededBefore += warm.Length * JobsPerWorkflow;

        var definitions = Definitions(s.Workflows!, count);
        var first = Stopwatch.GetTimestamp();
        await SubmitAllAsync(client, definitions, ct);
        var submitted = Stopwatch.GetTimestamp();
        await WaitAllAsync(client, definitions, s.Timeout, ct);
        var last = Stopwatch.GetTimestamp();
        var succeeded = (await client.GetStatsAsync(ct)).ByState.GetValueOrDefault(JobState.Succeeded);

        var handoffs = new List<double>();
        var failedWorkflows = 0;
        foreach (var d in definitions)
        {
            var status = await client.GetWorkflowAsync(d.Id!.Value, ct);
            if (status?.State != WorkflowState.Succeeded)
            {
                failedWorkflows++;
                continue;
            }
            var byName = status.Jobs.ToDictionary(j => j.Name);
            foreach (var job in status.Jobs.Where(j => !j.DependsOn.IsDefaultOrEmpty))
            {
                var parentsEnded = job.DependsOn.Max(p => byName[p].FinishedAt!.Value);
                handoffs.Add((job.StartedAt!.Value - parentsEnded).TotalMilliseconds);
            }
        }
        handoffs.Sort();
        var completed = (int)Math.Max(0, succeeded - succeededBefore);
        var seconds = (last - first) / (double)Stopwatch.Frequency;
        var result = new
        {
            storage = s.Storage,
            workflows = s.Workflows,
            workflow_count = count,
            jobs = count * JobsPerWorkflow,
            completed,
            unfinished_workflows = failedWorkflows,
            jobs_per_sec = Math.Round(completed / seconds, 1),
            parent_end_to_child_start_ms = new { p50 = Percentile(handoffs, 0.50), p95 = Percentile(handoffs, 0.95), p99 = Percentile(handoffs, 0.99) },
            submit_seconds = Math.Round((submitted - first) / (double)Stopwatch.Frequency, 3),
            total_seconds = Math.Round(seconds, 3),
        };
        Console.Error.WriteLine($"{s.Workflows} workflows on {s.Storage}: {completed}/{count * JobsPerWorkflow} jobs of {count} workflows in {seconds:0.00} s = " +
            $"{result.jobs_per_sec} jobs/s; parent end → child start p50 {result.parent_end_to_child_start_ms.p50} ms, " +
            $"p99 {result.parent_end_to_child_start_ms.p99} ms; {failedWorkflows} workflows did not succeed");
        Console.WriteLine(JsonSerializer.Serialize(result));
        return failedWorkflows == 0;
    }

    private static WorkflowDefinition[] Definitions(string shape, int count) =>
        [.. Enumerable.Range(0, count).Select(i => new WorkflowDefinition
        {
            Id = WorkflowId.New(),
            Name = $"{shape}-{i}",
            Jobs = shape == "diamond"
                ? [Job("a"), Job("b", "a"), Job("c", "a"), Job("d", "b", "c")]
                : [Job("a"), Job("b", "a"), Job("c", "b"), Job("d", "c")],
        })];

    /// <summary>Submits every workflow, 64 submits in flight.</summary>
    private static async Task SubmitAllAsync(ISchedulerClient client, WorkflowDefinition[] definitions, CancellationToken ct)
    {
        using var gate = new SemaphoreSlim(64);
        await Task.WhenAll(definitions.Select(async d =>
        {
            await gate.WaitAsync(ct);
            try
            {
                await client.SubmitWorkflowAsync(d, ct);
            }
            finally
            {
                gate.Release();
            }
        }));
    }

    /// <summary>
    /// Until every workflow is final (its state durable; its jobs' ends were durable before they were reported),
    /// learned from long polls on the workflows rather than by polling counts, which would load the machine.
    /// </summary>
    private static Task WaitAllAsync(ISchedulerClient client, WorkflowDefinition[] definitions, TimeSpan timeout, CancellationToken ct) =>
        Task.WhenAll(definitions.Select(d => client.WaitForWorkflowAsync(d.Id!.Value, timeout, ct)));

    private static WorkflowJob Job(string name, params WorkflowDependency[] dependsOn) =>
        new() { Name = name, Handler = RecordingNoopHandler.Name, DependsOn = [.. dependsOn] };

    private static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : Math.Round(sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)], 2);
}
