using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Scheduler.Tests.Storage;

[Collection(EmbeddedClusterCollection.Name)]
public sealed class OrleansReminderTableTests(EmbeddedClusterFixture fixture) : OrleansReminderTableContract(fixture);

/// <summary>Orleans' ADO.NET reminder table on one of our schemas, provider-neutral.</summary>
public abstract class OrleansReminderTableContract(IStorageClusterFixture fixture)
{
    private static readonly DateTime Start = new(2026, 3, 4, 5, 6, 7, 890, DateTimeKind.Utc);

    private IReminderTable Table => fixture.SiloServices.GetRequiredService<IReminderTable>();

    private static GrainId NewGrain() => GrainId.Create("reminder-probe", Guid.NewGuid().ToString("N"));

    private static ReminderEntry Entry(GrainId grain, string name, TimeSpan? period = null) => new()
    {
        GrainId = grain,
        ReminderName = name,
        StartAt = Start,
        Period = period ?? TimeSpan.FromMinutes(1),
    };

    [Fact]
    public async Task UpsertRow_ReturnsVersionZeroThenOne_WhenInsertedThenUpdated()
    {
        using var cts = Bounded.Timeout();
        var grain = NewGrain();

        var inserted = await Table.UpsertRow(Entry(grain, "r")).WaitAsync(cts.Token);
        var updated = await Table.UpsertRow(Entry(grain, "r", TimeSpan.FromDays(40))).WaitAsync(cts.Token);

        Assert.Equal("0", inserted);
        Assert.Equal("1", updated);
        var row = await Table.ReadRow(grain, "r").WaitAsync(cts.Token);
        Assert.NotNull(row);
        Assert.Equal(grain, row.GrainId);
        Assert.Equal(TimeSpan.FromDays(40), row.Period);
        Assert.Equal(Start, row.StartAt);
        Assert.Equal(DateTimeKind.Utc, row.StartAt.Kind);
        Assert.Equal("1", row.ETag);
        Assert.Equal("AdoNetReminderTable", Table.GetType().Name);
    }

    [Fact]
    public async Task ReadRow_ReturnsNull_WhenReminderDoesNotExist()
    {
        using var cts = Bounded.Timeout();

        Assert.Null(await Table.ReadRow(NewGrain(), "missing").WaitAsync(cts.Token));
    }

    [Fact]
    public async Task ReadRows_ReturnsAllRemindersOfTheGrain_WhenGrainHasSeveral()
    {
        using var cts = Bounded.Timeout();
        var grain = NewGrain();
        await Table.UpsertRow(Entry(grain, "a")).WaitAsync(cts.Token);
        await Table.UpsertRow(Entry(grain, "b")).WaitAsync(cts.Token);
        await Table.UpsertRow(Entry(NewGrain(), "a")).WaitAsync(cts.Token);

        var rows = await Table.ReadRows(grain).WaitAsync(cts.Token);

        Assert.Equal(["a", "b"], rows.Reminders.Select(r => r.ReminderName).Order());
        Assert.All(rows.Reminders, r => Assert.Equal(grain, r.GrainId));
    }

    [Fact]
    public async Task ReadRows_HonoursBothRangeForms_WhenRangeIsPlainOrWrapped()
    {
        using var cts = Bounded.Timeout();
        var (low, high) = TwoGrainsWithDistinctHashes();
        await Table.UpsertRow(Entry(low, "range")).WaitAsync(cts.Token);
        await Table.UpsertRow(Entry(high, "range")).WaitAsync(cts.Token);
        var lowHash = low.GetUniformHashCode();
        var highHash = high.GetUniformHashCode();

        // (int)begin < (int)end: rows with begin < hash <= end.
        var plain = await Table.ReadRows(lowHash, highHash).WaitAsync(cts.Token);
        // (int)begin > (int)end: the ring wraps, rows with hash > begin or hash <= end.
        var wrapped = await Table.ReadRows(highHash, lowHash).WaitAsync(cts.Token);

        var plainIds = plain.Reminders.Select(r => r.GrainId).ToHashSet();
        var wrappedIds = wrapped.Reminders.Select(r => r.GrainId).ToHashSet();
        Assert.Contains(high, plainIds);
        Assert.DoesNotContain(low, plainIds);
        Assert.Contains(low, wrappedIds);
        Assert.DoesNotContain(high, wrappedIds);
    }

    [Fact]
    public async Task RemoveRow_DeletesOnlyWithTheCurrentVersion_WhenVersionsDiffer()
    {
        using var cts = Bounded.Timeout();
        var grain = NewGrain();
        await Table.UpsertRow(Entry(grain, "r")).WaitAsync(cts.Token);
        var etag = await Table.UpsertRow(Entry(grain, "r")).WaitAsync(cts.Token);

        Assert.False(await Table.RemoveRow(grain, "r", "0").WaitAsync(cts.Token));
        Assert.NotNull(await Table.ReadRow(grain, "r").WaitAsync(cts.Token));
        Assert.True(await Table.RemoveRow(grain, "r", etag!).WaitAsync(cts.Token));
        Assert.Null(await Table.ReadRow(grain, "r").WaitAsync(cts.Token));
        Assert.False(await Table.RemoveRow(grain, "r", etag!).WaitAsync(cts.Token));
    }

    [Fact]
    public async Task TestOnlyClearTable_DeletesEveryReminderOfTheService_WhenCalled()
    {
        using var cts = Bounded.Timeout();
        var grain = NewGrain();
        await Table.UpsertRow(Entry(grain, "a")).WaitAsync(cts.Token);
        await Table.UpsertRow(Entry(NewGrain(), "b")).WaitAsync(cts.Token);

        await Table.TestOnlyClearTable().WaitAsync(cts.Token);

        Assert.Empty((await Table.ReadRows(0, uint.MaxValue).WaitAsync(cts.Token)).Reminders);
        Assert.Empty((await Table.ReadRows(grain).WaitAsync(cts.Token)).Reminders);
    }

    private static (GrainId Low, GrainId High) TwoGrainsWithDistinctHashes()
    {
        while (true)
        {
            var a = NewGrain();
            var b = NewGrain();
            var ha = (int)a.GetUniformHashCode();
            var hb = (int)b.GetUniformHashCode();
            if (ha == hb)
                continue;
            return ha < hb ? (a, b) : (b, a);
        }
    }
}
