using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Scheduler.Rest.Grpc;

/// <summary>
/// The gRPC API, registered and mapped with the REST API (so wherever REST is served, the silo's HTTP port or the
/// API process, gRPC is too), unless <see cref="RestApiOptions.Grpc"/> is off.
/// </summary>
internal static class GrpcApiExtensions
{
    public static void AddSchedulerGrpc(this IServiceCollection services, RestApiOptions options)
    {
        if (!options.Grpc)
            return;
        services.AddGrpc(o =>
        {
            o.Interceptors.Add<GrpcErrorInterceptor>();
            o.MaxReceiveMessageSize = (int)Math.Min(options.MaxRequestBodyBytes, int.MaxValue);
            o.EnableDetailedErrors = false;
        });
        // Endpoint defaults apply to every endpoint Kestrel binds from Urls: the gRPC port gets HTTP/2 only.
        if (options.GrpcPort is { } port)
        {
            services.Configure<KestrelServerOptions>(o => o.ConfigureEndpointDefaults(listen =>
            {
                if (listen.IPEndPoint?.Port == port)
                    listen.Protocols = HttpProtocols.Http2;
            }));
        }
    }

    public static void MapSchedulerGrpc(this IEndpointRouteBuilder endpoints, RestApiOptions options)
    {
        if (!options.Grpc)
            return;
        // Authorization is checked in each call (to answer UNAUTHENTICATED or PERMISSION_DENIED with a message).
        endpoints.MapGrpcService<JobsGrpcService>().AllowAnonymous();
    }
}
