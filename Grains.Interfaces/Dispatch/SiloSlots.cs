namespace Scheduler;

/// <summary>One silo's job slots, as its worker pool counts them.</summary>
/// <param name="Silo">The silo's address.</param>
/// <param name="Name">The silo's name.</param>
/// <param name="Slots">How many jobs it runs at most at once (Scheduler:MaxConcurrentJobs).</param>
/// <param name="Busy">How many of them run a job now.</param>
/// <param name="Pulling">True while its worker pool pulls jobs (false before it starts and once it stops).</param>
[GenerateSerializer, Immutable, Alias("scheduler.SiloSlots")]
public sealed record SiloSlots(
    [property: Id(0)] string Silo,
    [property: Id(1)] string Name,
    [property: Id(2)] int Slots,
    [property: Id(3)] int Busy,
    [property: Id(4)] bool Pulling);
