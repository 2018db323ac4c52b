using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;

namespace Scheduler.Client;

/// <summary>Registers the SDK (<see cref="ISchedulerClient"/>) and the Orleans client it runs on.</summary>
public static class SchedulerClientServiceCollectionExtensions
{
    /// <summary>
    /// Adds the Scheduler SDK (<see cref="ISchedulerClient"/>) and the Orleans client it runs on.
    /// The client connects when the host starts; by default to the embedded silo on 127.0.0.1:30000.
    /// </summary>
    public static IServiceCollection AddSchedulerClient(this IServiceCollection services, Action<SchedulerClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = new SchedulerClientOptions();
        configure?.Invoke(options);
        var problems = options.Validate().ToList();
        if (problems.Count > 0)
            throw new OptionsValidationException(nameof(SchedulerClientOptions), typeof(SchedulerClientOptions), problems);

        if (services.Any(d => d.ServiceType == typeof(ISchedulerClient)))
            return services;

        services.TryAddSingleton(Options.Create(options));
        services.TryAddSingleton<ISchedulerClient, SchedulerClient>();
        services.AddOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = options.ClusterId;
                o.ServiceId = options.ServiceId;
            });
            if (string.IsNullOrWhiteSpace(options.RedisConnectionString))
                client.UseStaticClustering(options.Gateways.Select(ToEndpoint).ToArray());
            else
                client.UseRedisClustering(options.RedisConnectionString);
            client.UseConnectionRetryFilter(new ConnectTimeoutFilter(options.ConnectTimeout, options.Gateways).ShouldRetry);
        });
        return services;
    }

    /// <summary>Binds <see cref="SchedulerClientOptions"/> from the "Scheduler:Client" section, then applies <paramref name="configure"/>.</summary>
    public static IServiceCollection AddSchedulerClient(this IServiceCollection services, IConfiguration configuration, Action<SchedulerClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return services.AddSchedulerClient(o =>
        {
            var section = configuration.GetSection(SchedulerClientOptions.SectionName);
            section.Bind(o);
            // The binder appends list items to a list that already has values (the default gateway):
            // configured gateways replace the default.
            var gateways = section.GetSection(nameof(SchedulerClientOptions.Gateways));
            if (gateways.GetChildren().Any())
                o.Gateways = gateways.Get<List<string>>() ?? [];
            configure?.Invoke(o);
        });
    }

    private static IPEndPoint ToEndpoint(string text)
    {
        SchedulerClientOptions.TryParseEndpoint(text, out var host, out var port);
        if (IPAddress.TryParse(host, out var address))
            return new IPEndPoint(address, port);
        var resolved = Dns.GetHostAddresses(host).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork)
            ?? throw new SchedulerException(SchedulerErrorCode.InvalidRequest, $"gateway host '{host}' does not resolve to an IPv4 address");
        return new IPEndPoint(resolved, port);
    }

    private sealed class ConnectTimeoutFilter(TimeSpan timeout, IReadOnlyList<string> gateways)
    {
        private readonly DateTime _deadline = DateTime.UtcNow + timeout;

        public async Task<bool> ShouldRetry(Exception exception, CancellationToken cancellationToken)
        {
            if (DateTime.UtcNow >= _deadline)
                throw new SchedulerException(SchedulerErrorCode.Unavailable,
                    $"cannot reach the scheduler at {string.Join(", ", gateways)} within {timeout.TotalSeconds:0.#} s " +
                    "(is the silo running? start one with: dotnet run --project Silo)", exception);
            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
            return true;
        }
    }
}
