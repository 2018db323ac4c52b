using System.Collections.Immutable;

namespace Scheduler;

/// <summary>Filters for listing workflows, newest first; null means "any".</summary>
[GenerateSerializer, Immutable, Alias("scheduler.WorkflowFilter")]
public sealed record WorkflowFilter
{
    /// <summary>Most workflows one page returns.</summary>
    public const int MaxLimit = 500;

    /// <summary>
    /// Most stored workflows one listing reads to fill a page filtered by tenant or name: past it the page comes back
    /// short, with <see cref="WorkflowPage.Next"/> to read on, so a rare tenant costs a bounded read per page.
    /// </summary>
    public const int MaxScan = 2000;

    /// <summary>Only workflows in this state.</summary>
    [Id(0)] public WorkflowState? State { get; init; }
    /// <summary>Only workflows of this tenant.</summary>
    [Id(1)] public string? Tenant { get; init; }
    /// <summary>Only workflows whose name contains this text (ignoring case).</summary>
    [Id(2)] public string? Name { get; init; }
    /// <summary>Most workflows returned. Default 50, at most <see cref="MaxLimit"/>.</summary>
    [Id(3)] public int Limit { get; init; } = 50;
    /// <summary>Only workflows listed after this one: a page's <see cref="WorkflowPage.Next"/>. Null: from the newest.</summary>
    [Id(4)] public WorkflowId? After { get; init; }

    /// <summary>What is wrong with the filter, or null when it can be used.</summary>
    public string? Problem()
    {
        if (Limit is < 1 or > MaxLimit)
            return $"limit {Limit} is out of range: use 1 to {MaxLimit}";
        if (Tenant is not null && !RequestValidation.IsName(Tenant))
            return $"tenant '{Tenant}' is not a valid name ({RequestValidation.NameRule})";
        if (Name is { Length: 0 or > 200 })
            return "name must be 1 to 200 characters";
        return null;
    }
}

/// <summary>A workflow in a listing: what it is and how far its jobs are, without the jobs themselves.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.WorkflowSummary")]
public sealed record WorkflowSummary
{
    /// <summary>The workflow's id.</summary>
    [Id(0)] public required WorkflowId Id { get; init; }
    /// <summary>Its name, when it was given one.</summary>
    [Id(1)] public string? Name { get; init; }
    /// <summary>Its state.</summary>
    [Id(2)] public required WorkflowState State { get; init; }
    /// <summary>Its tenant.</summary>
    [Id(3)] public required string Tenant { get; init; }
    /// <summary>Its priority.</summary>
    [Id(4)] public int Priority { get; init; }
    /// <summary>When it was submitted.</summary>
    [Id(5)] public DateTimeOffset CreatedAt { get; init; }
    /// <summary>When it ended, once final.</summary>
    [Id(6)] public DateTimeOffset? FinishedAt { get; init; }
    /// <summary>How many jobs it has.</summary>
    [Id(7)] public int Jobs { get; init; }
    /// <summary>Its jobs by state, as the workflow last stored them (a released job that runs may still count as queued).</summary>
    [Id(8)] public ImmutableDictionary<WorkflowJobState, int> Counts { get; init; } = ImmutableDictionary<WorkflowJobState, int>.Empty;
}

/// <summary>A page of workflows.</summary>
/// <param name="Items">The workflows, newest first.</param>
/// <param name="Next">
/// Where the next page starts (pass it as <see cref="WorkflowFilter.After"/>); null when no workflow is left. A page
/// filtered by tenant or name may hold fewer than the limit and still have a next one.
/// </param>
[GenerateSerializer, Immutable, Alias("scheduler.WorkflowPage")]
public sealed record WorkflowPage(
    [property: Id(0)] ImmutableArray<WorkflowSummary> Items,
    [property: Id(1)] WorkflowId? Next);
