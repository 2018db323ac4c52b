using Grpc.Core;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Scheduler.Client;
using static Scheduler.Rest.Grpc.GrpcMapping;
using V1 = Scheduler.Grpc.V1;

namespace Scheduler.Rest.Grpc;

/// <summary>
/// The gRPC service <c>scheduler.v1.Jobs</c>: the REST API's job calls over the SDK, with its authentication, roles
/// and tenant scope (another tenant's job is NOT_FOUND, as one that does not exist).
/// </summary>
internal sealed class JobsGrpcService(ISchedulerClient client, IAuthorizationService authorization, IOptions<RestApiOptions> options)
    : V1.Jobs.JobsBase
{
    /// <summary>How much of a call's deadline a wait leaves for its answer to travel back.</summary>
    private static readonly TimeSpan AnswerMargin = TimeSpan.FromMilliseconds(250);

    public override async Task<V1.SubmitResponse> Submit(V1.SubmitRequest request, ServerCallContext context)
    {
        var caller = await AuthorizeAsync(context, ApiRole.Submitter);
        var job = Scope(caller, ToRequest(request.Job, "job"));
        var result = (await client.SubmitManyAsync([job], context.CancellationToken))[0];
        return ToResponse(result);
    }

    public override async Task<V1.SubmitBatchResponse> SubmitBatch(V1.SubmitBatchRequest request, ServerCallContext context)
    {
        var caller = await AuthorizeAsync(context, ApiRole.Submitter);
        if (request.Jobs.Count == 0)
            throw Invalid("jobs is empty: give at least one job");
        if (request.Jobs.Count > options.Value.MaxBatchSize)
            throw Invalid($"jobs has {request.Jobs.Count} jobs; the limit is {options.Value.MaxBatchSize}");
        var jobs = new JobRequest[request.Jobs.Count];
        for (var i = 0; i < jobs.Length; i++)
            jobs[i] = Scope(caller, ToRequest(request.Jobs[i], $"jobs[{i}]"));
        var results = await client.SubmitManyAsync(jobs, context.CancellationToken);
        var reply = new V1.SubmitBatchResponse();
        reply.Results.AddRange(results.Select(ToResponse));
        return reply;
    }

    public override async Task<V1.JobStatus> GetStatus(V1.GetStatusRequest request, ServerCallContext context)
    {
        await AuthorizeAsync(context, ApiRole.Viewer);
        var id = ParseId(request.Id);
        return ToStatus(await VisibleAsync(context, id));
    }

    public override async Task<V1.JobStatus> Wait(V1.WaitRequest request, ServerCallContext context)
    {
        await AuthorizeAsync(context, ApiRole.Viewer);
        var id = ParseId(request.Id);
        double? seconds = request.Timeout is null ? null : ToTimeSpan(request.Timeout, "timeout").TotalSeconds;
        if (Problems.WaitProblem(seconds, out var wait) is { } problem)
            throw Invalid(problem);
        await VisibleAsync(context, id);
        // The call's deadline ends the wait first, with the status as it then is rather than DEADLINE_EXCEEDED; what is
        // left of it is taken after the visibility check, which a loaded silo can take a while to answer.
        if (context.Deadline != DateTime.MaxValue)
        {
            var left = context.Deadline - DateTime.UtcNow - AnswerMargin;
            wait = left < wait ? (left > TimeSpan.Zero ? left : TimeSpan.Zero) : wait;
        }
        var status = await client.WaitForFinalAsync(id, wait, context.CancellationToken) ?? throw JobNotFound(id);
        return ToStatus(status);
    }

    public override async Task<V1.CancelResponse> Cancel(V1.CancelRequest request, ServerCallContext context)
    {
        await AuthorizeAsync(context, ApiRole.Operator);
        var id = ParseId(request.Id);
        if (request.Reason.Length > 2000)
            throw Invalid($"reason is {request.Reason.Length} characters; the limit is 2000");
        await VisibleAsync(context, id);
        var outcome = await client.CancelAsync(id, string.IsNullOrEmpty(request.Reason) ? null : request.Reason, context.CancellationToken);
        await Endpoints.AuditAsync(context.GetHttpContext(), "job.cancel", id.ToString(), outcome.ToString());
        return outcome switch
        {
            CancelOutcome.Cancelled => new V1.CancelResponse { Outcome = V1.CancelOutcome.Cancelled },
            CancelOutcome.Requested => new V1.CancelResponse { Outcome = V1.CancelOutcome.Requested },
            CancelOutcome.AlreadyFinal => throw new RpcException(new Status(StatusCode.FailedPrecondition, $"job {id} has already ended")),
            _ => throw JobNotFound(id),
        };
    }

    public override async Task StreamLogs(V1.StreamLogsRequest request, IServerStreamWriter<V1.LogEvent> responseStream, ServerCallContext context)
    {
        await AuthorizeAsync(context, ApiRole.Viewer);
        var id = ParseId(request.Id);
        if (request.AfterSequence < 0)
            throw Invalid($"after_sequence {request.AfterSequence} must not be negative");
        await VisibleAsync(context, id);
        await foreach (var (line, end) in JobsApi.FollowLogAsync(client, id, request.AfterSequence, context.CancellationToken))
        {
            await responseStream.WriteAsync(line is not null
                ? new V1.LogEvent { Line = ToLine(line) }
                : new V1.LogEvent { End = ToStatus(end!) }, context.CancellationToken);
        }
    }

    /// <summary>
    /// The caller, when its credentials carry <paramref name="role"/> or a higher one (the REST API's policy); else
    /// UNAUTHENTICATED (none or refused) or PERMISSION_DENIED (a smaller role).
    /// </summary>
    private async Task<Caller> AuthorizeAsync(ServerCallContext context, ApiRole role)
    {
        var http = context.GetHttpContext();
        var result = await authorization.AuthorizeAsync(http.User, RestApiExtensions.Policy(role));
        if (result.Succeeded)
            return Caller.Of(http);
        if (http.User.Identity?.IsAuthenticated == true)
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"this call needs the {role.ToString().ToLowerInvariant()} role or a higher one"));
        // The middleware keeps only a successful result; the handler remembers its answer for this request.
        var refused = (await http.AuthenticateAsync()).Failure?.Message;
        throw new RpcException(new Status(StatusCode.Unauthenticated, refused is null
            ? "send an API key as metadata 'authorization: Bearer sch_...' (or 'x-api-key'), or a bearer token"
            : $"credentials refused: {refused}"));
    }

    private static JobRequest Scope(Caller caller, JobRequest job)
    {
        var tenant = Endpoints.ScopeTenant(caller, job.Tenant, out var refusal);
        if (refusal is not null)
            throw new RpcException(new Status(StatusCode.PermissionDenied, refusal));
        return tenant == job.Tenant ? job : job with { Tenant = tenant! };
    }

    private async Task<JobStatus> VisibleAsync(ServerCallContext context, JobId id) =>
        await JobsApi.VisibleAsync(context.GetHttpContext(), client, id.Value) ?? throw JobNotFound(id);

    private static RpcException JobNotFound(JobId id) => new(new Status(StatusCode.NotFound, $"no job {id}"));
}
