using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Scheduler.Client;
using Scheduler.Execution;
using Scheduler.Hosting;
using Scheduler.Rest;
using Scheduler.Tests.Infrastructure;
using Scheduler.Tests.Storage;

namespace Scheduler.Tests.Rest;

/// <summary>
/// A real silo host, built as Silo/Program.cs builds it (AddScheduler, MapScheduler) on embedded storage, listening
/// on a loopback port, with loopback trust off (so every request needs a key, as from beyond loopback) and no key
/// cache (a revoked key stops at once). Keys for each role and tenant are made through the access grain, as the CLI
/// makes them.
/// </summary>
public sealed class RestApiFixture : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private readonly Dictionary<string, string> _tokens = [];

    public WebApplication App { get; private set; } = null!;
    public string BaseUrl { get; private set; } = "";

    /// <summary>The HTTP/2-only port for cleartext gRPC (Scheduler:Api:GrpcPort).</summary>
    public string GrpcUrl { get; private set; } = "";
    public int GatewayPort { get; private set; }
    public string ClusterId { get; } = "rest-" + Guid.NewGuid().ToString("N")[..10];
    public ExecutionBook Book { get; } = new();
    public const string JwtIssuer = "https://issuer.test/";
    /// <summary>The cluster's webhook secret, and a tenant with its own (docs/webhooks.md).</summary>
    public const string WebhookSecret = "rest-fixture-webhook-secret-0001";
    public const string WebhookTenant = "hooked";
    public const string WebhookTenantSecret = "hooked-tenant-own-secret-000002";
    public SymmetricSecurityKey JwtKey { get; } = new(RandomNumberGenerator.GetBytes(32));

    /// <summary>A token of the test issuer with these claims (and <paramref name="key"/>'s signature, default the issuer's).</summary>
    public string Jwt(IDictionary<string, object> claims, SecurityKey? key = null, DateTime? expires = null) =>
        new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = JwtIssuer,
            Audience = "scheduler",
            Claims = claims,
            NotBefore = (expires ?? DateTime.UtcNow.AddMinutes(10)).AddMinutes(-20),
            Expires = expires ?? DateTime.UtcNow.AddMinutes(10),
            SigningCredentials = new SigningCredentials(key ?? JwtKey, SecurityAlgorithms.HmacSha256),
        });
    public ISchedulerClient Sdk => App.Services.GetRequiredService<ISchedulerClient>();

    public async Task InitializeAsync()
    {
        var ports = ServerProcess.FreeLoopbackPorts(4);
        BaseUrl = $"http://127.0.0.1:{ports[0]}";
        GrpcUrl = $"http://127.0.0.1:{ports[3]}";
        GatewayPort = ports[2];
        var builder = WebSilo.CreateBuilder(Path.Combine(_dir.Path, "data"), ClusterId, ports[1], ports[2], new Dictionary<string, string?>
        {
            ["Urls"] = $"{BaseUrl};{GrpcUrl}",
            ["Scheduler:Api:GrpcPort"] = ports[3].ToString(CultureInfo.InvariantCulture),
            ["Scheduler:Dashboard"] = "true",
            ["Scheduler:MaxConcurrentJobs"] = "4",
            ["Scheduler:Queues:0"] = "default",
            ["Scheduler:Queues:1"] = "other",
            ["Scheduler:Ordering:TenantWeights:qa-gold"] = "3",
            ["Scheduler:Api:Jwt:Authority"] = JwtIssuer,
            ["Scheduler:Api:Jwt:Audience"] = "scheduler",
            ["Scheduler:Webhooks:Secret"] = WebhookSecret,
            ["Scheduler:Webhooks:TenantSecrets:" + WebhookTenant] = WebhookTenantSecret,
            ["Scheduler:Webhooks:MaxAttempts"] = "3",
            ["Scheduler:Webhooks:FirstRetryDelay"] = "00:00:00.100",
            ["Scheduler:Webhooks:AttemptTimeout"] = "00:00:01",
        });
        // The issuer's metadata, as discovery would fetch it: its name and signing key (no issuer runs here).
        builder.Services.PostConfigure<JwtBearerOptions>("SchedulerJwt", o =>
        {
            var configuration = new OpenIdConnectConfiguration { Issuer = JwtIssuer };
            configuration.SigningKeys.Add(JwtKey);
            o.ConfigurationManager = new StaticConfigurationManager<OpenIdConnectConfiguration>(configuration);
        });
        builder.AddScheduler(silo =>
        {
            silo.Services.AddSingleton(Book);
            silo.Services.AddJobHandler<WorkHandler>(WorkHandler.Name);
        });
        App = builder.Build();
        await WebSilo.StartAsync(App);
    }

    /// <summary>A client sending the token of a key with this role and tenant (made once, then reused).</summary>
    public HttpClient As(ApiRole role, string? tenant = null)
    {
        var name = $"{role}-{tenant ?? "all"}".ToLowerInvariant();
        string token;
        lock (_tokens)
            _tokens.TryGetValue(name, out token!);
        if (token is null)
        {
            token = CreateKeyAsync(new ApiKeyRequest { Name = name, Role = role, Tenant = tenant }).GetAwaiter().GetResult().Token;
            lock (_tokens)
                _tokens[name] = token;
        }
        var client = Anonymous();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    public HttpClient Admin() => As(ApiRole.Admin);

    public HttpClient Anonymous() => new() { BaseAddress = new Uri(BaseUrl), Timeout = TimeSpan.FromSeconds(90) };

    public Task<ApiKeyCreated> CreateKeyAsync(ApiKeyRequest request) =>
        App.Services.GetRequiredService<IGrainFactory>().GetGrain<IAccessGrain>(0).CreateKey(request, "test");

    public async Task DisposeAsync()
    {
        await WebSilo.StopAsync(App);
        _dir.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class RestApiCollection : ICollectionFixture<RestApiFixture>
{
    public const string Name = "rest api";
}

/// <summary>Reading the API's JSON in tests.</summary>
internal static class RestJson
{
    public static readonly JsonSerializerOptions Options = ApiJson.Options;

    public static async Task<JsonElement> ReadJsonAsync(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string path, object body) =>
        client.PostAsJsonAsync(path, body, Options);

    /// <summary>A job of the test.work handler, as JSON.</summary>
    public static object Work(string? tenant = null, string? tag = null, string outcome = "success", int sleepMs = 0, DateTimeOffset? notBefore = null) => new
    {
        handler = WorkHandler.Name,
        payload = new WorkPayload(SleepMs: sleepMs, Outcome: outcome, Tag: tag),
        tenant = tenant ?? JobRequest.DefaultTenant,
        limits = new { maxAttempts = 1 },
        notBefore,
    };
}
