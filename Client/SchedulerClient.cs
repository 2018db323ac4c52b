using System.Collections.Immutable;
using Microsoft.Extensions.Options;

namespace Scheduler.Client;

internal sealed partial class SchedulerClient(IClusterClient cluster, IOptions<SchedulerClientOptions> options) : ISchedulerClient
{
    private readonly SchedulerClientOptions _options = options.Value;
    private SiloDescription? _silo;

    public async Task<IReadOnlyList<SubmitResult>> SubmitManyAsync(IReadOnlyList<JobRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        if (requests.Count == 0)
            return [];

        // Fix every id before anything is sent, so a retried call cannot create a second job.
        var prepared = new JobRequest[requests.Count];
        var errors = new List<RequestError>();
        // The caller's trace, if any: the job's spans join it (docs/observability.md).
        var trace = System.Diagnostics.Activity.Current is { IdFormat: System.Diagnostics.ActivityIdFormat.W3C } current ? current.Id : null;
        for (var i = 0; i < requests.Count; i++)
        {
            var request = requests[i];
            if (RequestValidation.Check(request, _options.MaxPayloadBytes) is { } problem)
            {
                errors.Add(new RequestError(i, problem.Code, problem.Message));
                continue;
            }
            prepared[i] = request.Id is null && request.IdempotencyKey is null ? request with { Id = JobId.New() } : request;
            if (trace is not null && request.TraceParent is null)
                prepared[i] = prepared[i] with { TraceParent = trace };
        }

        // Check what only the silos know (handlers, queues, their payload limit) before sending a first batch,
        // so a large submission is refused whole instead of half-accepted.
        if (errors.Count == 0 && requests.Count > _options.SubmitBatchSize)
        {
            var silo = await DescribeAsync(cancellationToken);
            for (var i = 0; i < prepared.Length; i++)
            {
                if (SiloCheck(prepared[i], silo) is { } problem)
                    errors.Add(new RequestError(i, problem.Code, problem.Message));
            }
        }
        if (errors.Count > 0)
            throw Refused(errors, requests.Count);

        var results = new List<SubmitResult>(prepared.Length);
        var retried = TimeSpan.Zero;
        foreach (var chunk in prepared.Chunk(_options.SubmitBatchSize))
        {
            while (true)
            {
                var answer = await CallAsync(g => g.Reference<ISchedulerGrain>(0).SubmitMany([.. chunk]), cancellationToken);
                if (answer.Succeeded)
                {
                    results.AddRange(answer.Jobs);
                    break;
                }
                if (answer.Errors[0] is not { Code: SchedulerErrorCode.Overloaded } overloaded)
                    throw Refused([.. answer.Errors.Select(e => e with { Index = e.Index + results.Count })], requests.Count);
                // A full backlog: nothing of this batch was accepted. Its ids are fixed, so sending it again is safe.
                var after = overloaded.RetryAfter ?? TimeSpan.FromSeconds(1);
                if (retried + after > _options.OverloadedRetryTimeout)
                    throw new OverloadedException(overloaded.Message, after, results);
                await Task.Delay(after, cancellationToken);
                retried += after;
            }
        }
        return results;
    }

    public Task<JobStatus?> GetStatusAsync(JobId id, CancellationToken cancellationToken = default) =>
        CallAsync(g => g.Reference<IJobGrain>(id.Value).GetStatus(), cancellationToken);

    public Task<JobStatus?> WaitForFinalAsync(JobId id, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        WaitAsync(timeout, (g, wait) => g.Reference<IJobGrain>(id.Value).WaitForFinal(wait), s => s.State.IsFinal(), cancellationToken);

    public Task<IReadOnlyList<JobSummary>> ListAsync(JobFilter filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        if (filter.Limit is < 1 or > JobFilter.MaxLimit)
            throw new SchedulerException(SchedulerErrorCode.InvalidRequest, $"limit {filter.Limit} is out of range: use 1 to {JobFilter.MaxLimit}");
        if (filter.Problem() is { } problem)
            throw new SchedulerException(SchedulerErrorCode.InvalidRequest, problem);
        return CallAsync<IReadOnlyList<JobSummary>>(async g => await g.Reference<ISchedulerGrain>(0).List(filter), cancellationToken);
    }

    public Task<CancelOutcome> CancelAsync(JobId id, string? reason = null, CancellationToken cancellationToken = default) =>
        AuditedAsync("job.cancel", id.ToString(), CallAsync(g => g.Reference<IJobGrain>(id.Value).Cancel(reason), cancellationToken),
            o => reason is null ? o.ToString() : $"{o}: {reason}", cancellationToken);

    public Task<RescheduleOutcome> RescheduleAsync(JobId id, DateTimeOffset? notBefore, CancellationToken cancellationToken = default)
    {
        if (RequestValidation.NotBeforeProblem(notBefore) is { } problem)
            throw new SchedulerException(SchedulerErrorCode.InvalidRequest, problem);
        return AuditedAsync("job.reschedule", id.ToString(), CallAsync(g => g.Reference<IJobGrain>(id.Value).Reschedule(notBefore), cancellationToken),
            o => $"{o} notBefore={notBefore:O}", cancellationToken);
    }

    public Task<IReadOnlyList<JobLogLine>> GetLogAsync(JobId id, long afterSequence = 0, int max = 1000, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(afterSequence);
        if (max is < 1 or > 10_000)
            throw new SchedulerException(SchedulerErrorCode.InvalidRequest, $"max {max} is out of range: use 1 to 10000");
        return CallAsync<IReadOnlyList<JobLogLine>>(async g => await g.Reference<ISchedulerGrain>(0).GetLog(id, afterSequence, max), cancellationToken);
    }

    public Task<IReadOnlyList<JobTransition>> GetHistoryAsync(JobId id, CancellationToken cancellationToken = default) =>
        CallAsync<IReadOnlyList<JobTransition>>(async g => await g.Reference<ISchedulerGrain>(0).GetHistory(id), cancellationToken);

    public Task<QueueStats> GetStatsAsync(CancellationToken cancellationToken = default) =>
        CallAsync(g => g.Reference<ISchedulerGrain>(0).GetStats(), cancellationToken);

    public Task<QueueOverview> GetQueuesAsync(CancellationToken cancellationToken = default) =>
        CallAsync(g => g.Reference<ISchedulerGrain>(0).GetQueues(), cancellationToken);

    public async Task<SiloDescription> DescribeAsync(CancellationToken cancellationToken = default) =>
        _silo ??= await CallAsync(g => g.Reference<ISchedulerGrain>(0).Describe(), cancellationToken);

    public Task<IReadOnlyList<DeadLetter>> ListDeadLettersAsync(DeadLetterFilter filter, CancellationToken cancellationToken = default)
    {
        CheckFilter(filter);
        return CallAsync<IReadOnlyList<DeadLetter>>(async g => await g.Reference<ISchedulerGrain>(0).ListDeadLetters(filter), cancellationToken);
    }

    public async Task<IReadOnlyList<RequeueResult>> RequeueAsync(IReadOnlyList<JobId> ids, int? attempts = null, CancellationToken cancellationToken = default)
    {
        CheckIds(ids);
        if (attempts is < 1 or > JobLimits.MaxAllowedAttempts)
            throw new SchedulerException(SchedulerErrorCode.InvalidRequest, $"attempts {attempts} is out of range: use 1 to {JobLimits.MaxAllowedAttempts}");
        var results = new List<RequeueResult>(ids.Count);
        foreach (var chunk in ids.Chunk(DeadLetterBatchSize))
            results.AddRange(await CallAsync(g => g.Reference<ISchedulerGrain>(0).Requeue([.. chunk], attempts), cancellationToken));
        await AuditAsync("deadletters.requeue", Targets(ids), $"{results.Count(r => r.Outcome == RequeueOutcome.Requeued)} of {results.Count} requeued", cancellationToken);
        return results;
    }

    public async Task<IReadOnlyList<PurgeResult>> PurgeDeadLettersAsync(IReadOnlyList<JobId> ids, CancellationToken cancellationToken = default)
    {
        CheckIds(ids);
        var results = new List<PurgeResult>(ids.Count);
        foreach (var chunk in ids.Chunk(DeadLetterBatchSize))
            results.AddRange(await CallAsync(g => g.Reference<ISchedulerGrain>(0).Purge([.. chunk]), cancellationToken));
        await AuditAsync("deadletters.purge", Targets(ids), $"{results.Count(r => r.Outcome == PurgeOutcome.Purged)} of {results.Count} purged", cancellationToken);
        return results;
    }

    public async Task<long> PurgeDeadLettersAsync(DeadLetterFilter filter, CancellationToken cancellationToken = default)
    {
        CheckFilter(filter);
        long total = 0;
        while (true)
        {
            // Each call purges one bounded batch; stop when a batch purges nothing (none left, or only jobs that
            // changed state meanwhile).
            var purged = await CallAsync(g => g.Reference<ISchedulerGrain>(0).PurgeMatching(filter), cancellationToken);
            if (purged == 0)
            {
                await AuditAsync("deadletters.purge", $"queue={filter.Queue ?? "*"} tenant={filter.Tenant ?? "*"} handler={filter.Handler ?? "*"} failedBefore={filter.FailedBefore:O}",
                    $"{total} purged", cancellationToken);
                return total;
            }
            total += purged;
        }
    }

    /// <summary>Job ids sent per requeue or purge call.</summary>
    private const int DeadLetterBatchSize = 100;

    private static void CheckFilter(DeadLetterFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        if (filter.Problem() is { } problem)
            throw new SchedulerException(SchedulerErrorCode.InvalidRequest, problem);
    }

    private static void CheckIds(IReadOnlyList<JobId> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Count == 0)
            throw new SchedulerException(SchedulerErrorCode.InvalidRequest, "give at least one job id");
        if (ids.Any(id => id.Value == Guid.Empty))
            throw new SchedulerException(SchedulerErrorCode.InvalidRequest, "job id must not be the empty GUID");
        if (ids.Distinct().Count() != ids.Count)
            throw new SchedulerException(SchedulerErrorCode.InvalidRequest, "a job id is given more than once");
    }

    /// <summary>Longest wait of one call in a wait for a final state: within Orleans' default response timeout (30 s).</summary>
    private static readonly TimeSpan LongPoll = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Asks the grain to answer once <paramref name="isFinal"/> holds or a long poll passes, again and again, until it
    /// holds, the grain reports no such job or workflow (null), or <paramref name="timeout"/> passes.
    /// </summary>
    private async Task<T?> WaitAsync<T>(TimeSpan timeout, Func<IGrainFactory, TimeSpan, Task<T?>> poll, Func<T, bool> isFinal,
        CancellationToken cancellationToken) where T : class
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero);
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            var wait = left < LongPoll ? (left > TimeSpan.Zero ? left : TimeSpan.Zero) : LongPoll;
            var status = await CallAsync(g => poll(g, wait), cancellationToken);
            if (status is null || isFinal(status) || DateTime.UtcNow >= deadline)
                return status;
        }
    }

    private static (SchedulerErrorCode Code, string Message)? SiloCheck(JobRequest request, SiloDescription silo)
    {
        if (!silo.Handlers.Contains(request.Handler))
            return (SchedulerErrorCode.UnknownHandler, $"unknown handler '{request.Handler}'; the silos serve: {string.Join(", ", silo.Handlers)}");
        if (!silo.Queues.Contains(request.Queue))
            return (SchedulerErrorCode.UnknownQueue, $"unknown queue '{request.Queue}'; the silos serve: {string.Join(", ", silo.Queues)}");
        if (request.Payload.Length > silo.MaxPayloadBytes)
            return (SchedulerErrorCode.PayloadTooLarge, $"payload is {request.Payload.Length} bytes; the limit is {silo.MaxPayloadBytes} bytes");
        return null;
    }

    private static SchedulerException Refused(IReadOnlyList<RequestError> errors, int total)
    {
        var head = errors.Count == 1 && total == 1
            ? errors[0].Message
            : $"{errors.Count} of {total} requests are invalid, nothing was submitted: " +
              string.Join("; ", errors.Take(10).Select(e => $"#{e.Index}: {e.Message}")) + (errors.Count > 10 ? "; ..." : "");
        return new SchedulerException(errors[0].Code, head);
    }

    private async Task<T> CallAsync<T>(Func<IGrainFactory, Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call(cluster).WaitAsync(cancellationToken);
        }
        catch (SchedulerException)
        {
            throw;
        }
        catch (Exception e) when (e is OrleansException or TimeoutException)
        {
            throw new SchedulerException(SchedulerErrorCode.Unavailable, $"the scheduler did not answer: {e.Message}", e);
        }
        catch (Orleans.Serialization.SerializerException e)
        {
            // A silo failed with an exception that cannot cross the wire (e.g. NpgsqlException while its database is
            // down): the caller gets a codec error instead of the cause. The scheduler could not serve the call.
            throw new SchedulerException(SchedulerErrorCode.Unavailable, $"the scheduler failed to serve the call: {e.Message}", e);
        }
        catch (ArgumentException e)
        {
            throw new SchedulerException(SchedulerErrorCode.InvalidRequest, e.Message, e);
        }
        catch (InvalidOperationException e) when (e.Message.Contains("not connected", StringComparison.OrdinalIgnoreCase) || e.Message.Contains("client is not", StringComparison.OrdinalIgnoreCase))
        {
            throw new SchedulerException(SchedulerErrorCode.Unavailable, $"not connected to the scheduler: {e.Message}", e);
        }
    }
}
