using System.Collections.Immutable;
using Orleans.Concurrency;
using Scheduler.Execution;

namespace Scheduler.Workers;

/// <summary>
/// Runs jobs on the silo that pulled them. Reentrant, so one activation runs many jobs at once; the handlers
/// themselves run on the thread pool, off the grain's turn, and each job grain only sees two short calls.
/// </summary>
[StatelessWorker, Reentrant]
public sealed class JobWorkerGrain(JobRunner runner) : Grain, IJobWorkerGrain
{
    public Task Execute(ImmutableArray<Dispatch> jobs)
    {
        var runs = new Task[jobs.Length];
        for (var i = 0; i < jobs.Length; i++)
            runs[i] = runner.RunAsync(GrainFactory, jobs[i]);
        return Task.WhenAll(runs);
    }
}
