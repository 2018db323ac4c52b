using Xunit;

namespace Scheduler.Tests.Storage;

// Schedule rows (scheduler_schedules): the same scenarios on every database.
public abstract partial class SqlJobStoreContract
{
    [Fact]
    public async Task SaveScheduleAsync_CreatesAtVersion1_AndWritesALaterVersionOnlyOverTheOneBefore()
    {
        using var cts = Bounded.Timeout(60);
        await ScheduleStoreScenarios.CreatesAtVersion1_AndWritesALaterVersionOnlyOverTheOneBefore(_store, cts.Token).WaitAsync(cts.Token);
    }

    [Fact]
    public async Task SaveSchedulesAsync_WritesABatch_RecordByRecord()
    {
        using var cts = Bounded.Timeout(60);
        await ScheduleStoreScenarios.WritesABatch_RecordByRecord(_store, cts.Token).WaitAsync(cts.Token);
    }

    [Fact]
    public async Task DeleteScheduleAsync_DeletesOnlyAtTheGivenVersion()
    {
        using var cts = Bounded.Timeout(60);
        await ScheduleStoreScenarios.DeletesOnlyAtTheGivenVersion(_store, cts.Token).WaitAsync(cts.Token);
    }

    [Fact]
    public async Task ListSchedulesAsync_ListsByIdInPages_AndOnlyItsOwnService()
    {
        using var cts = Bounded.Timeout(60);
        await ScheduleStoreScenarios.ListsByIdInPages_AndOnlyItsOwnService(_store, Store(ServiceB), cts.Token).WaitAsync(cts.Token);
    }
}
