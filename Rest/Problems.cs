using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Scheduler.Client;

namespace Scheduler.Rest;

/// <summary>RFC 7807 problem details for every refusal, and the HTTP status of each <see cref="SchedulerErrorCode"/>.</summary>
internal static class Problems
{
    public static IResult BadRequest(string detail) => Problem(StatusCodes.Status400BadRequest, "The request is invalid", detail);

    /// <summary>A long poll's <c>timeout</c> query: 0 to 300 seconds, 30 when unset; false with the problem to answer.</summary>
    public static bool TryWait(double? timeout, out TimeSpan wait, out IResult? problem)
    {
        problem = WaitProblem(timeout, out wait) is { } detail ? BadRequest(detail) : null;
        return problem is null;
    }

    /// <summary>What is wrong with a long poll's timeout (seconds): null when it is 0 to 300, or unset (30).</summary>
    public static string? WaitProblem(double? timeout, out TimeSpan wait)
    {
        wait = default;
        if (timeout is < 0 or > 300 || (timeout is { } t && double.IsNaN(t)))
            return $"timeout {timeout} is out of range: use 0 to 300 seconds";
        wait = TimeSpan.FromSeconds(timeout ?? 30);
        return null;
    }

    public static IResult NotFound(string detail) => Problem(StatusCodes.Status404NotFound, "Not found", detail);

    public static IResult Conflict(string detail) => Problem(StatusCodes.Status409Conflict, "Not possible in the current state", detail);

    public static IResult Forbidden(string detail) => Problem(StatusCodes.Status403Forbidden, "Forbidden", detail);

    public static IResult Problem(int status, string title, string detail, SchedulerErrorCode? code = null) =>
        TypedResults.Problem(new ProblemDetails
        {
            Status = status,
            Title = title,
            Detail = detail,
            Type = $"https://scheduler/problems/{(code is { } c ? c.ToString() : status.ToString(System.Globalization.CultureInfo.InvariantCulture))}",
            Extensions = code is { } known ? new Dictionary<string, object?> { ["code"] = known.ToString() } : new Dictionary<string, object?>(),
        });

    public static int StatusOf(SchedulerErrorCode code) => code switch
    {
        SchedulerErrorCode.NotFound => StatusCodes.Status404NotFound,
        SchedulerErrorCode.InvalidState or SchedulerErrorCode.Conflict => StatusCodes.Status409Conflict,
        SchedulerErrorCode.Unavailable => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status400BadRequest,
    };

    public static IResult From(SchedulerException e) => Problem(StatusOf(e.Code), e.Code switch
    {
        SchedulerErrorCode.NotFound => "Not found",
        SchedulerErrorCode.InvalidState or SchedulerErrorCode.Conflict => "Not possible in the current state",
        SchedulerErrorCode.Unavailable => "The scheduler is unavailable",
        _ => "The request is invalid",
    }, e.Message, e.Code);
}

/// <summary>
/// Turns what an endpoint throws into problem details: the SDK's refusals by their code, a request Kestrel refused
/// (e.g. a body over the size limit) by its status, a malformed value as 400. Anything else stays a 500.
/// </summary>
internal sealed class SchedulerExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var (status, title, detail, code) = exception switch
        {
            SchedulerException e => (Problems.StatusOf(e.Code), "The scheduler refused the request", e.Message, e.Code.ToString()),
            BadHttpRequestException e => (e.StatusCode, "The request is invalid", e.Message, null),
            ArgumentException e => (StatusCodes.Status400BadRequest, "The request is invalid", e.Message, null),
            System.Text.Json.JsonException e => (StatusCodes.Status400BadRequest, "The request is invalid", e.Message, null),
            FormatException e => (StatusCodes.Status400BadRequest, "The request is invalid", e.Message, null),
            OperationCanceledException when httpContext.RequestAborted.IsCancellationRequested => (499, "Client closed the request", "", null),
            _ => (0, "", "", null),
        };
        if (status == 0)
            return false;
        httpContext.Response.StatusCode = status;
        var details = new ProblemDetails { Status = status, Title = title, Detail = detail };
        if (code is not null)
            details.Extensions["code"] = code;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = details, Exception = exception });
    }
}
