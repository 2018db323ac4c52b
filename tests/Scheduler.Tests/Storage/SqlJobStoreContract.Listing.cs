using Scheduler.Storage;
using Xunit;

namespace Scheduler.Tests.Storage;

// What the dashboard's lists ask the store: jobs by submitted time, id prefix and free text; workflows newest first.
public abstract partial class SqlJobStoreContract
{
    [Fact]
    public async Task ListAsync_FiltersBySubmittedTimeIdPrefixAndFreeText_IgnoringCaseAndWildcards()
    {
        using var cts = Bounded.Timeout();
        var records = new[]
        {
            Job(JobId.New(), tenant: "Acme-eu", handler: "reports.daily", created: T0),
            Job(JobId.New(), tenant: "beta", handler: "reports.weekly", created: T0.AddMinutes(1)),
            Job(JobId.New(), tenant: "beta", handler: "mail_send", created: T0.AddMinutes(2)),
            Job(JobId.New(), tenant: "mailer", handler: "x", created: T0.AddMinutes(3)),
        };
        await _store.SaveAsync(records, cts.Token).WaitAsync(cts.Token);
        async Task<int[]> ListAsync(JobFilter filter) =>
            [.. (await _store.ListAsync(filter, cts.Token).WaitAsync(cts.Token)).Select(r => Array.FindIndex(records, x => x.Id == r.Id))];

        Assert.Equal(new[] { 2, 1 }, await ListAsync(new JobFilter { CreatedAfter = T0.AddMinutes(1), CreatedBefore = T0.AddMinutes(3) }));
        Assert.Equal(new[] { 3 }, await ListAsync(new JobFilter { CreatedAfter = T0.AddMinutes(3) }));
        Assert.Equal(new[] { 1, 0 }, await ListAsync(new JobFilter { Text = "REPORTS." }));
        Assert.Equal(new[] { 0 }, await ListAsync(new JobFilter { Text = "acme" }));
        Assert.Equal(new[] { 3, 2 }, await ListAsync(new JobFilter { Text = "mail" }));
        // '_' and '%' are plain characters, not LIKE's wildcards.
        Assert.Equal(new[] { 2 }, await ListAsync(new JobFilter { Text = "mail_" }));
        Assert.Empty(await ListAsync(new JobFilter { Text = "%" }));
        Assert.Empty(await ListAsync(new JobFilter { Text = "r_ports" }));

        var id = records[2].Id.ToString();
        Assert.Equal(new[] { 2 }, await ListAsync(new JobFilter { IdPrefix = id.ToUpperInvariant() }));
        Assert.Equal(new[] { 2 }, await ListAsync(new JobFilter { Text = id[..24] }));
        Assert.Equal(new[] { 2 }, await ListAsync(new JobFilter { IdPrefix = id[..24], Text = "beta" }));
        Assert.Contains(2, await ListAsync(new JobFilter { IdPrefix = id[..8] }));
    }

    [Fact]
    public async Task ListWorkflowsAsync_ReadsNewestFirst_ByStateAndFromACursor_InThisServiceOnly()
    {
        using var cts = Bounded.Timeout(60);
        var ids = new List<WorkflowId>();
        for (var i = 0; i < 5; i++)
        {
            var id = WorkflowId.New();
            ids.Add(id);
            await _store.SaveWorkflowsAsync([Workflow(id, 1, [(byte)i], state: i == 2 ? WorkflowState.Failed : WorkflowState.Running)], cts.Token).WaitAsync(cts.Token);
        }
        await Store(ServiceB).SaveWorkflowsAsync([Workflow(WorkflowId.New(), 1)], cts.Token).WaitAsync(cts.Token);
        // Newest first by id: UUIDv7 orders by the millisecond, and ids of one millisecond by their random bits.
        var newestFirst = ids.OrderByDescending(id => id.ToString(), StringComparer.Ordinal).ToList();

        var all = await _store.ListWorkflowsAsync(null, null, 10, cts.Token).WaitAsync(cts.Token);
        Assert.Equal(newestFirst, all.Select(r => r.Id));
        Assert.Equal([(byte)ids.IndexOf(newestFirst[0])], all[0].Data);
        var page = await _store.ListWorkflowsAsync(null, newestFirst[1], 2, cts.Token).WaitAsync(cts.Token);
        Assert.Equal(newestFirst.Skip(2).Take(2), page.Select(r => r.Id));
        var failed = Assert.Single(await _store.ListWorkflowsAsync(WorkflowState.Failed, null, 10, cts.Token).WaitAsync(cts.Token));
        Assert.Equal((ids[2], WorkflowState.Failed), (failed.Id, failed.State));
    }
}
