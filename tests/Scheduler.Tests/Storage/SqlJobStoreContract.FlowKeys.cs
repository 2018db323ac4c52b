using Scheduler.Storage;
using Xunit;

namespace Scheduler.Tests.Storage;

// Concurrency key rows (scheduler_flow_keys): the same scenarios on every database.
public abstract partial class SqlJobStoreContract
{
    [Fact]
    public async Task SaveFlowKeysAsync_WritesEachVersionOnlyOverTheOneBefore_AlsoInABatch()
    {
        using var cts = Bounded.Timeout(60);
        string a = $"upload:{Guid.NewGuid():N}", b = $"dbhost:{Guid.NewGuid():N}";

        Assert.Empty(await _store.SaveFlowKeysAsync([new FlowKeyRecord(a, 1, [1]), new FlowKeyRecord(b, 1, [2])], cts.Token).WaitAsync(cts.Token));
        // In a batch, a's next version is written and b's stale one (a second activation's) refused; alone, one that skips a version is refused.
        var conflicts = await _store.SaveFlowKeysAsync([new FlowKeyRecord(a, 2, [3]), new FlowKeyRecord(b, 1, [4])], cts.Token).WaitAsync(cts.Token);
        var refusedAlone = await _store.SaveFlowKeysAsync([new FlowKeyRecord(b, 3, [5])], cts.Token).WaitAsync(cts.Token);

        Assert.Equal([b], conflicts);
        Assert.Equal([b], refusedAlone);
        var found = await _store.ReadFlowKeysAsync([a, b, "absent"], cts.Token).WaitAsync(cts.Token);
        Assert.Equal(2, found[a].Version);
        Assert.Equal([3], found[a].Data);
        Assert.Equal(1, found[b].Version);
        Assert.Equal([2], found[b].Data);
        Assert.False(found.ContainsKey("absent"));
        // Rows are scoped by service.
        Assert.Empty(await Store(ServiceB).ReadFlowKeysAsync([a], cts.Token).WaitAsync(cts.Token));
    }
}
