using Scheduler.Storage;
using Xunit;

namespace Scheduler.Tests.Storage;

/// <summary>The schedule row scenarios every <see cref="IScheduleStore"/> must pass (SQLite, PostgreSQL, in memory).</summary>
internal static class ScheduleStoreScenarios
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private static ScheduleRecord Row(string id, int version, bool paused = false) => new(id, version, paused, T0, [(byte)version, 7]);

    public static async Task CreatesAtVersion1_AndWritesALaterVersionOnlyOverTheOneBefore(IScheduleStore store, CancellationToken ct)
    {
        var id = "nightly-" + Guid.NewGuid().ToString("N");
        Assert.Null(await store.ReadScheduleAsync(id, ct));

        Assert.True(await store.SaveScheduleAsync(Row(id, 1), ct));
        Assert.False(await store.SaveScheduleAsync(Row(id, 1), ct)); // a second create
        Assert.False(await store.SaveScheduleAsync(Row(id, 3), ct)); // skips a version
        Assert.True(await store.SaveScheduleAsync(Row(id, 2, paused: true), ct));
        Assert.False(await store.SaveScheduleAsync(Row(id, 2), ct)); // a stale writer

        var stored = await store.ReadScheduleAsync(id, ct);
        Assert.NotNull(stored);
        Assert.Equal((id, 2), (stored.Id, stored.Version));
        Assert.Equal([2, 7], stored.Data);
    }

    /// <summary>
    /// Many schedules in one call (as group commit sends them): each record is written or refused on its own, in order,
    /// and a refused update leaves no row behind.
    /// </summary>
    public static async Task WritesABatch_RecordByRecord(IScheduleStore store, CancellationToken ct)
    {
        var prefix = "batch-" + Guid.NewGuid().ToString("N")[..8];
        string created = $"{prefix}-created", updated = $"{prefix}-updated", stale = $"{prefix}-stale", missing = $"{prefix}-missing",
            twice = $"{prefix}-twice", taken = $"{prefix}-taken";
        foreach (var id in new[] { updated, stale, taken })
            Assert.True(await store.SaveScheduleAsync(Row(id, 1), ct));

        var conflicts = await store.SaveSchedulesAsync(
        [
            Row(created, 1), Row(updated, 2, paused: true), Row(stale, 3), Row(missing, 2), Row(twice, 1), Row(taken, 1), Row(twice, 2),
        ], ct);

        Assert.Equal(new[] { stale, missing, taken }.Order(StringComparer.Ordinal), conflicts.Order(StringComparer.Ordinal));
        Assert.Equal(1, (await store.ReadScheduleAsync(created, ct))!.Version);
        var written = await store.ReadScheduleAsync(updated, ct);
        Assert.Equal(2, written!.Version);
        Assert.Equal([2, 7], written.Data);
        Assert.Equal(1, (await store.ReadScheduleAsync(stale, ct))!.Version);
        Assert.Null(await store.ReadScheduleAsync(missing, ct));
        Assert.Equal(2, (await store.ReadScheduleAsync(twice, ct))!.Version);
        Assert.Equal([1, 7], (await store.ReadScheduleAsync(taken, ct))!.Data);
        // The refused update of a missing schedule left nothing a create would run into.
        Assert.True(await store.SaveScheduleAsync(Row(missing, 1), ct));
    }

    public static async Task DeletesOnlyAtTheGivenVersion(IScheduleStore store, CancellationToken ct)
    {
        var id = "delete-" + Guid.NewGuid().ToString("N");
        Assert.False(await store.DeleteScheduleAsync(id, 1, ct));
        Assert.True(await store.SaveScheduleAsync(Row(id, 1), ct));
        Assert.True(await store.SaveScheduleAsync(Row(id, 2), ct));

        Assert.False(await store.DeleteScheduleAsync(id, 1, ct));
        Assert.NotNull(await store.ReadScheduleAsync(id, ct));
        Assert.True(await store.DeleteScheduleAsync(id, 2, ct));
        Assert.Null(await store.ReadScheduleAsync(id, ct));
        // Created again from version 1.
        Assert.True(await store.SaveScheduleAsync(Row(id, 1), ct));
    }

    public static async Task ListsByIdInPages_AndOnlyItsOwnService(IScheduleStore store, IScheduleStore otherService, CancellationToken ct)
    {
        var prefix = "list-" + Guid.NewGuid().ToString("N")[..8];
        string[] ids = [$"{prefix}-B", $"{prefix}-a", $"{prefix}-_", $"{prefix}-0", $"{prefix}-b.1"];
        foreach (var id in ids)
            Assert.True(await store.SaveScheduleAsync(Row(id, 1), ct));
        Assert.True(await otherService.SaveScheduleAsync(Row($"{prefix}-other", 1), ct));

        var all = new List<string>();
        string? after = prefix;
        while (true)
        {
            var page = await store.ListSchedulesAsync(after, 2, ct);
            all.AddRange(page.Select(r => r.Id).Where(i => i.StartsWith(prefix, StringComparison.Ordinal)));
            if (page.Count < 2 || !page[^1].Id.StartsWith(prefix, StringComparison.Ordinal))
                break;
            after = page[^1].Id;
        }

        // Ordinal order: digits, upper case, '_', lower case.
        Assert.Equal(ids.Order(StringComparer.Ordinal), all);
        Assert.Equal([$"{prefix}-other"], (await otherService.ListSchedulesAsync(prefix, 10, ct)).Select(r => r.Id).Where(i => i.StartsWith(prefix, StringComparison.Ordinal)));
    }
}
