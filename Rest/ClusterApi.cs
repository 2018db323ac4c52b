using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Scheduler.Client;
using static Scheduler.Rest.Endpoints;

namespace Scheduler.Rest;

/// <summary>
/// Cluster-wide resources: schedules, limits, stats, dead letters, keys and the audit log. Schedules, limits and
/// stats span tenants, so a tenant-scoped caller is refused them (403); dead letters are filtered to its tenant.
/// </summary>
internal static class ClusterApi
{
    public static RouteGroupBuilder MapSchedulesApi(this RouteGroupBuilder api)
    {
        var schedules = api.MapGroup("/schedules").WithTags("Schedules");
        var viewer = RestApiExtensions.ClusterPolicy(ApiRole.Viewer);
        var operatorRole = RestApiExtensions.ClusterPolicy(ApiRole.Operator);

        schedules.MapPost("", async (HttpContext http, ISchedulerClient client) =>
        {
            var (definition, problem) = await ApiJson.ReadAsync<ScheduleDefinition>(http.Request);
            if (problem is not null)
                return problem;
            var outcome = await client.UpsertScheduleAsync(definition!, http.RequestAborted);
            await AuditAsync(http, "schedule.upsert", definition!.Id, outcome.ToString());
            return outcome == SubmitOutcome.Accepted
                ? TypedResults.Created($"{RestApiExtensions.Prefix}/schedules/{definition.Id}", new { outcome })
                : TypedResults.Ok(new { outcome });
        }).RequireAuthorization(operatorRole).Accepts<ScheduleDefinition>("application/json").WithSummary("Create or update a schedule");
        schedules.MapGet("", async (ISchedulerClient client, string? after, int? limit, CancellationToken ct) =>
        {
            if (limit is < 1 or > 1000)
                return Problems.BadRequest($"limit {limit} is out of range: use 1 to 1000");
            var rows = await client.ListSchedulesAsync(after, limit ?? 100, ct);
            return TypedResults.Ok(new Page<ScheduleSummary>(rows, rows.Count == (limit ?? 100) && rows.Count > 0 ? rows[^1].Id : null));
        }).RequireAuthorization(viewer).WithSummary("List schedules by id; pass nextCursor as after");
        schedules.MapGet("/{id}", async (ISchedulerClient client, string id, int? next, CancellationToken ct) =>
        {
            if (next is < 0 or > 100)
                return Problems.BadRequest($"next {next} is out of range: use 0 to 100");
            return await client.GetScheduleAsync(id, next ?? 5, ct) is { } status ? TypedResults.Ok(status) : Problems.NotFound($"no schedule '{id}'");
        }).RequireAuthorization(viewer);
        schedules.MapPost("/{id}/pause", async (HttpContext http, ISchedulerClient client, string id) =>
        {
            var (body, problem) = await ReadOptionalAsync<NoteBody>(http.Request);
            if (problem is not null)
                return problem;
            await client.PauseScheduleAsync(id, body!.Note, http.RequestAborted);
            await AuditAsync(http, "schedule.pause", id, body.Note);
            return TypedResults.Ok(new { paused = true });
        }).RequireAuthorization(operatorRole).Accepts<NoteBody>("application/json");
        schedules.MapPost("/{id}/resume", async (HttpContext http, ISchedulerClient client, string id) =>
        {
            var (body, problem) = await ReadOptionalAsync<NoteBody>(http.Request);
            if (problem is not null)
                return problem;
            var runs = await client.ResumeScheduleAsync(id, body!.Note, http.RequestAborted);
            await AuditAsync(http, "schedule.resume", id, body.Note);
            return TypedResults.Ok(new { runs });
        }).RequireAuthorization(operatorRole).Accepts<NoteBody>("application/json");
        schedules.MapPost("/{id}/trigger", async (HttpContext http, ISchedulerClient client, string id) =>
        {
            var run = await client.TriggerScheduleAsync(id, http.RequestAborted);
            await AuditAsync(http, "schedule.trigger", id, run.Outcome.ToString());
            return TypedResults.Ok(run);
        }).RequireAuthorization(operatorRole);
        schedules.MapPost("/{id}/backfill", async (HttpContext http, ISchedulerClient client, string id) =>
        {
            var (body, problem) = await ApiJson.ReadAsync<BackfillBody>(http.Request);
            if (problem is not null)
                return problem;
            var runs = await client.BackfillScheduleAsync(id, body!.From, body.To, http.RequestAborted);
            await AuditAsync(http, "schedule.backfill", id, $"{body.From:O}..{body.To:O}: {runs.Count} runs");
            return TypedResults.Ok(new { runs });
        }).RequireAuthorization(operatorRole).Accepts<BackfillBody>("application/json");
        schedules.MapDelete("/{id}", async (HttpContext http, ISchedulerClient client, string id) =>
        {
            if (!await client.DeleteScheduleAsync(id, http.RequestAborted))
                return Problems.NotFound($"no schedule '{id}'");
            await AuditAsync(http, "schedule.delete", id);
            return TypedResults.NoContent();
        }).RequireAuthorization(operatorRole);
        return api;
    }

    public static RouteGroupBuilder MapLimitsApi(this RouteGroupBuilder api)
    {
        var limits = api.MapGroup("/limits").WithTags("Limits");
        var viewer = RestApiExtensions.ClusterPolicy(ApiRole.Viewer);
        limits.MapGet("/keys", async (ISchedulerClient client, CancellationToken ct) => TypedResults.Ok(await client.ListKeysAsync(ct)))
            .RequireAuthorization(viewer).WithSummary("Concurrency keys with settings");
        limits.MapGet("/keys/{**key}", async (ISchedulerClient client, string key, CancellationToken ct) => TypedResults.Ok(await client.GetKeyAsync(key, ct)))
            .RequireAuthorization(viewer);
        limits.MapPut("/keys/{**key}", async (HttpContext http, ISchedulerClient client, string key) =>
        {
            var (settings, problem) = await ApiJson.ReadAsync<KeySettings>(http.Request);
            if (problem is not null)
                return problem;
            var status = await client.SetKeyLimitsAsync(key, settings!, http.RequestAborted);
            await AuditAsync(http, "limits.set", key, System.Text.Json.JsonSerializer.Serialize(settings, ApiJson.Options));
            return TypedResults.Ok(status);
        }).RequireAuthorization(RestApiExtensions.ClusterPolicy(ApiRole.Operator)).Accepts<KeySettings>("application/json")
            .WithSummary("Set a key's concurrency and rate limits at runtime");
        limits.MapGet("/scopes/{scope}", async (ISchedulerClient client, string scope, CancellationToken ct) =>
            TypedResults.Ok(await client.GetExclusiveScopeAsync(scope, ct))).RequireAuthorization(viewer)
            .WithSummary("An exclusive scope: 'cluster' or 'queue:NAME'");
        return api;
    }

    public static RouteGroupBuilder MapDeadLettersApi(this RouteGroupBuilder api)
    {
        var deadLetters = api.MapGroup("/deadletters").WithTags("Dead letters");
        deadLetters.MapGet("", async (HttpContext http, ISchedulerClient client, string? queue, string? tenant, string? handler,
            DateTimeOffset? failedBefore, int? limit) =>
        {
            var caller = Caller.Of(http);
            if (caller.Tenant is not null && tenant is not null && tenant != caller.Tenant)
                return (IResult)TypedResults.Ok(Array.Empty<DeadLetter>());
            var filter = new DeadLetterFilter { Queue = queue, Tenant = caller.Tenant ?? tenant, Handler = handler, FailedBefore = failedBefore, Limit = limit ?? 100 };
            return TypedResults.Ok(await client.ListDeadLettersAsync(filter, http.RequestAborted));
        }).RequireAuthorization(RestApiExtensions.Policy(ApiRole.Viewer)).WithSummary("Dead-lettered (Failed) jobs, most recently failed first");
        deadLetters.MapPost("/requeue", async (HttpContext http, ISchedulerClient client) =>
        {
            var (body, problem) = await ApiJson.ReadAsync<DeadLetterIdsBody>(http.Request);
            if (problem is not null)
                return problem;
            var ids = await VisibleIdsAsync(http, client, body!.Ids);
            if (ids.Problem is not null)
                return ids.Problem;
            var results = await client.RequeueAsync(ids.Ids!, body.Attempts, http.RequestAborted);
            await AuditAsync(http, "deadletters.requeue", string.Join(",", body.Ids.Take(20)) + (body.Ids.Count > 20 ? ",..." : ""),
                $"{results.Count(r => r.Outcome == RequeueOutcome.Requeued)} of {results.Count} requeued");
            return TypedResults.Ok(results);
        }).RequireAuthorization(RestApiExtensions.Policy(ApiRole.Operator)).Accepts<DeadLetterIdsBody>("application/json");
        deadLetters.MapPost("/purge", async (HttpContext http, ISchedulerClient client) =>
        {
            var (body, problem) = await ApiJson.ReadAsync<DeadLetterIdsBody>(http.Request);
            if (problem is not null)
                return problem;
            var ids = await VisibleIdsAsync(http, client, body!.Ids);
            if (ids.Problem is not null)
                return ids.Problem;
            var results = await client.PurgeDeadLettersAsync(ids.Ids!, http.RequestAborted);
            await AuditAsync(http, "deadletters.purge", string.Join(",", body.Ids.Take(20)) + (body.Ids.Count > 20 ? ",..." : ""),
                $"{results.Count(r => r.Outcome == PurgeOutcome.Purged)} of {results.Count} purged");
            return TypedResults.Ok(results);
        }).RequireAuthorization(RestApiExtensions.Policy(ApiRole.Operator)).Accepts<DeadLetterIdsBody>("application/json");
        deadLetters.MapPost("/purge-matching", async (HttpContext http, ISchedulerClient client) =>
        {
            var (body, problem) = await ApiJson.ReadAsync<PurgeFilterBody>(http.Request);
            if (problem is not null)
                return problem;
            var caller = Caller.Of(http);
            if (caller.Tenant is not null && body!.Tenant is not null && body.Tenant != caller.Tenant)
                return TypedResults.Ok(new { purged = 0L });
            var filter = new DeadLetterFilter { Queue = body!.Queue, Tenant = caller.Tenant ?? body.Tenant, Handler = body.Handler, FailedBefore = body.FailedBefore };
            var purged = await client.PurgeDeadLettersAsync(filter, http.RequestAborted);
            await AuditAsync(http, "deadletters.purge", $"queue={filter.Queue ?? "*"} tenant={filter.Tenant ?? "*"} handler={filter.Handler ?? "*"} failedBefore={filter.FailedBefore:O}",
                $"{purged} purged");
            return TypedResults.Ok(new { purged });
        }).RequireAuthorization(RestApiExtensions.Policy(ApiRole.Operator)).Accepts<PurgeFilterBody>("application/json")
            .WithSummary("Purge every dead letter matching a filter");
        return api;
    }

    /// <summary>The ids as given when the caller sees every one of them; another tenant's job is "not found".</summary>
    private static async Task<(IReadOnlyList<JobId>? Ids, IResult? Problem)> VisibleIdsAsync(HttpContext http, ISchedulerClient client, List<JobId> ids)
    {
        if (ids.Count is 0 or > 1000)
            return (null, Problems.BadRequest($"give 1 to 1000 job ids (got {ids.Count})"));
        if (Caller.Of(http).Tenant is not null)
        {
            foreach (var id in ids)
            {
                if (await JobsApi.VisibleAsync(http, client, id.Value) is null)
                    return (null, Problems.NotFound($"no job {id}"));
            }
        }
        return (ids, null);
    }

    public static RouteGroupBuilder MapAdminApi(this RouteGroupBuilder api)
    {
        api.MapGet("/stats", async (ISchedulerClient client, CancellationToken ct) => TypedResults.Ok(await client.GetStatsAsync(ct)))
            .RequireAuthorization(RestApiExtensions.ClusterPolicy(ApiRole.Viewer)).WithTags("Stats").WithSummary("Jobs per state, cluster-wide");

        var admin = RestApiExtensions.Policy(ApiRole.Admin);
        api.MapGet("/audit", async (IGrainFactory grains, long? before, int? limit) =>
        {
            if (limit is < 1 or > 1000)
                return Problems.BadRequest($"limit {limit} is out of range: use 1 to 1000");
            if (before is < 1)
                return Problems.BadRequest($"before {before} must be positive");
            var entries = await grains.GetGrain<IAccessGrain>(0).ListAudit(before, limit ?? 100);
            return TypedResults.Ok(new Page<AuditEntry>(entries, entries.Length == (limit ?? 100) && entries.Length > 0
                ? entries[^1].Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture) : null));
        }).RequireAuthorization(admin).WithTags("Admin").WithSummary("The audit log, newest first; pass nextCursor as before");
        var keys = api.MapGroup("/keys").WithTags("Admin").RequireAuthorization(admin);
        keys.MapGet("", async (IGrainFactory grains) => TypedResults.Ok(await grains.GetGrain<IAccessGrain>(0).ListKeys()));
        keys.MapPost("", async (HttpContext http, IGrainFactory grains) =>
        {
            var (request, problem) = await ApiJson.ReadAsync<ApiKeyRequest>(http.Request);
            if (problem is not null)
                return problem;
            if (request!.Problem() is { } keyProblem)
                return Problems.BadRequest(keyProblem);
            var created = await grains.GetGrain<IAccessGrain>(0).CreateKey(request, Caller.Of(http).Actor);
            return TypedResults.Created($"{RestApiExtensions.Prefix}/keys/{created.Key.Id}", created);
        }).Accepts<ApiKeyRequest>("application/json").WithSummary("Create an API key; its token is shown only here");
        keys.MapDelete("/{id}", async (HttpContext http, IGrainFactory grains, string id) =>
            await grains.GetGrain<IAccessGrain>(0).RevokeKey(id, Caller.Of(http).Actor)
                ? TypedResults.NoContent()
                : Problems.NotFound($"no valid key '{id}'")).WithSummary("Revoke an API key");
        return api;
    }
}

/// <summary>The period of a backfill, both ends included.</summary>
public sealed class BackfillBody
{
    /// <summary>First occurrence time.</summary>
    public required DateTimeOffset From { get; init; }
    /// <summary>Last occurrence time.</summary>
    public required DateTimeOffset To { get; init; }
}

/// <summary>Dead-lettered jobs to requeue or purge.</summary>
public sealed class DeadLetterIdsBody
{
    /// <summary>The jobs, 1 to 1000.</summary>
    public required List<JobId> Ids { get; init; }
    /// <summary>Requeue only: attempts each job gets (null: as many as first given).</summary>
    public int? Attempts { get; init; }
}
