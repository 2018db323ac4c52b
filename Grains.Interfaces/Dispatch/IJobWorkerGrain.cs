using System.Collections.Immutable;
using Orleans.Concurrency;

namespace Scheduler;

/// <summary>
/// Executes jobs on the silo that pulled them. A stateless worker: activations are local and there may be several.
/// </summary>
[Alias("scheduler.IJobWorkerGrain")]
public interface IJobWorkerGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// Runs the given jobs. One-way: the caller does not wait; each job's slot is given back to the
    /// silo's capacity as that job ends.
    /// </summary>
    [Alias("Execute"), OneWay]
    Task Execute(ImmutableArray<Dispatch> jobs);
}

/// <summary>A job handed to a worker, with the shard it came from.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.Dispatch")]
public readonly record struct Dispatch(
    [property: Id(0)] JobId Id,
    [property: Id(1)] string Shard);
