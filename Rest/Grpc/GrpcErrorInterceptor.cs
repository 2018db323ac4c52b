using System.Globalization;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Scheduler.Client;

namespace Scheduler.Rest.Grpc;

/// <summary>
/// The SDK's refusals as gRPC status codes with their message (as the REST API turns them into problem details):
/// invalid request INVALID_ARGUMENT, not found NOT_FOUND, wrong state FAILED_PRECONDITION, conflict ALREADY_EXISTS,
/// full backlog RESOURCE_EXHAUSTED (with "retry-after" seconds in the trailers), no answer UNAVAILABLE.
/// </summary>
internal sealed class GrpcErrorInterceptor : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (Exception e) when (ToRpc(e, context) is { } rpc)
        {
            throw rpc;
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception e) when (ToRpc(e, context) is { } rpc)
        {
            throw rpc;
        }
    }

    private static RpcException? ToRpc(Exception exception, ServerCallContext context)
    {
        switch (exception)
        {
            case RpcException:
                return null;
            case OverloadedException overloaded:
                context.ResponseTrailers.Add("retry-after", Math.Ceiling(overloaded.RetryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture));
                return new RpcException(new Status(StatusCode.ResourceExhausted, overloaded.Message));
            case SchedulerException refused:
                return new RpcException(new Status(CodeOf(refused.Code), refused.Message));
            case ArgumentException or FormatException:
                return new RpcException(new Status(StatusCode.InvalidArgument, exception.Message));
            case OperationCanceledException when context.CancellationToken.IsCancellationRequested:
                return new RpcException(new Status(StatusCode.Cancelled, "the call was cancelled or its deadline passed"));
            default:
                return null;
        }
    }

    public static StatusCode CodeOf(SchedulerErrorCode code) => code switch
    {
        SchedulerErrorCode.NotFound => StatusCode.NotFound,
        SchedulerErrorCode.InvalidState => StatusCode.FailedPrecondition,
        SchedulerErrorCode.Conflict => StatusCode.AlreadyExists,
        SchedulerErrorCode.Unavailable => StatusCode.Unavailable,
        SchedulerErrorCode.Overloaded => StatusCode.ResourceExhausted,
        _ => StatusCode.InvalidArgument,
    };
}
