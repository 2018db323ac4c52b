using System.Diagnostics;
using System.Text.Json;
using Scheduler.Client;

namespace Scheduler.Bench;

/// <summary>
/// Workflow load: many small workflows of 4 no-op jobs, chains (a → b → c → d) or diamonds (a → b, c → d), submitted
/// at once (burst) or at a steady rate (paced). Measures jobs per second end to end and, per dependency, the time from the parent's end to the child's
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
        // Paced runs warm up at their own rate for --warmup, so the runtime has recompiled what is hot at that load.
        var paced = s.Mode == "paced";
        var warm = Definitions(s.Workflows!, paced ? Math.Max(100, (int)(s.Warmup.TotalSeconds * s.Rate / JobsPerWorkflow)) : Math.Max(100, count / 10));
        await SubmitAsync(client, warm, s, ct);
        await WaitAllAsync(client, warm, s.Timeout, ct);
        succeededBefore += warm.Length * JobsPerWorkflow;

        var definitions = Definitions(s.Workflows!, count);
        var runtime = new RuntimeCounters();
        var first = Stopwatch.GetTimestamp();
        await SubmitAsync(client, definitions, s, ct);
        var submitted = Stopwatch.GetTimestamp();
        await WaitAllAsync(client, definitions, s.Timeout, ct);
        var last = Stopwatch.GetTimestamp();
        var gc = runtime.Since();
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
            mode = s.Mode,
            rate = paced ? s.Rate : (int?)null,
            workflow_count = count,
            jobs = count * JobsPerWorkflow,
            completed,
            unfinished_workflows = failedWorkflows,
            jobs_per_sec = Math.Round(completed / seconds, 1),
            parent_end_to_child_start_ms = new { p50 = Percentile(handoffs, 0.50), p95 = Percentile(handoffs, 0.95), p99 = Percentile(handoffs, 0.99) },
            submit_seconds = Math.Round((submitted - first) / (double)Stopwatch.Frequency, 3),
            total_seconds = Math.Round(seconds, 3),
            gc,
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

    private static Task SubmitAsync(ISchedulerClient client, WorkflowDefinition[] definitions, BenchSettings s, CancellationToken ct) =>
        s.Mode == "paced" ? SubmitPacedAsync(client, definitions, s.Rate, ct) : SubmitAllAsync(client, definitions, ct);

    /// <summary>
    /// Submits one workflow at a time at <paramref name="jobsPerSecond"/> / 4 workflows a second, on schedule whatever
    /// the earlier submits are doing: a steady offered load, as an upload service would make it.
    /// </summary>
    private static async Task SubmitPacedAsync(ISchedulerClient client, WorkflowDefinition[] definitions, int jobsPerSecond, CancellationToken ct)
    {
        var pending = new List<Task>(definitions.Length);
        var first = Stopwatch.GetTimestamp();
        var interval = Stopwatch.Frequency * JobsPerWorkflow / (double)jobsPerSecond;
        for (var i = 0; i < definitions.Length; i++)
        {
            var wait = first + (long)(i * interval) - Stopwatch.GetTimestamp();
            if (wait > Stopwatch.Frequency / 1000)
                await Task.Delay(TimeSpan.FromSeconds(wait / (double)Stopwatch.Frequency), ct);
            pending.Add(client.SubmitWorkflowAsync(definitions[i], ct));
        }
        await Task.WhenAll(pending);
    }

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
