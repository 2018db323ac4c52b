using Scheduler.Storage;
using Xunit;

namespace Scheduler.Tests.Storage;

/// <summary>The schedule row scenarios of the SQL stores, on the in-memory store.</summary>
public sealed class InMemoryScheduleStoreTests
{
    private readonly InMemoryJobStore _store = new();

    [Fact]
    public async Task SaveScheduleAsync_CreatesAtVersion1_AndWritesALaterVersionOnlyOverTheOneBefore()
    {
        using var cts = Bounded.Timeout();
        await ScheduleStoreScenarios.CreatesAtVersion1_AndWritesALaterVersionOnlyOverTheOneBefore(_store, cts.Token);
    }

    [Fact]
    public async Task SaveSchedulesAsync_WritesABatch_RecordByRecord()
    {
        using var cts = Bounded.Timeout();
        await ScheduleStoreScenarios.WritesABatch_RecordByRecord(_store, cts.Token);
    }

    [Fact]
    public async Task DeleteScheduleAsync_DeletesOnlyAtTheGivenVersion()
    {
        using var cts = Bounded.Timeout();
        await ScheduleStoreScenarios.DeletesOnlyAtTheGivenVersion(_store, cts.Token);
    }

    [Fact]
    public async Task ListSchedulesAsync_ListsByIdInPages_AndOnlyItsOwnService()
    {
        using var cts = Bounded.Timeout();
        // One in-memory store is one service.
        await ScheduleStoreScenarios.ListsByIdInPages_AndOnlyItsOwnService(_store, new InMemoryJobStore(), cts.Token);
    }
}
