using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Scheduler.Rest;

/// <summary>
/// Authenticates an API key sent as <c>Authorization: Bearer sch_…</c> or <c>X-Api-Key: sch_…</c>, checked by a silo
/// against the stored hash (remembered here for <see cref="RestApiOptions.KeyCacheDuration"/>). A caller on loopback
/// without credentials is a local admin when <see cref="RestApiOptions.TrustLoopback"/> is on; anyone else without
/// credentials is anonymous and refused by every endpoint's policy (401).
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> schemeOptions,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IOptions<RestApiOptions> apiOptions,
    IGrainFactory grains,
    IMemoryCache cache) : AuthenticationHandler<AuthenticationSchemeOptions>(schemeOptions, logger, encoder)
{
    public const string SchemeName = "SchedulerApiKey";
    public const string HeaderName = "X-Api-Key";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var token = TokenOf(Request);
        if (token is null)
        {
            return apiOptions.Value.TrustLoopback && IsLoopback(Context)
                ? Success(Caller.Principal(ApiRole.Admin, tenant: null, actor: "loopback"))
                : AuthenticateResult.NoResult();
        }
        if (ApiKeyTokens.IdOf(token) is null)
            return AuthenticateResult.Fail("not a Scheduler API key");

        var cacheKey = "scheduler-api-key:" + ApiKeyTokens.Hash(token);
        if (!cache.TryGetValue(cacheKey, out ApiKeyInfo? key))
        {
            key = await grains.GetGrain<IAccessGrain>(0).Authenticate(token);
            if (apiOptions.Value.KeyCacheDuration > TimeSpan.Zero)
                cache.Set(cacheKey, key, apiOptions.Value.KeyCacheDuration);
        }
        return key is null
            ? AuthenticateResult.Fail("unknown or revoked API key")
            : Success(Caller.Principal(key.Role, key.Tenant, $"key:{key.Id} ({key.Name})"));
    }

    private AuthenticateResult Success(ClaimsPrincipal principal) =>
        AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));

    /// <summary>The token of an X-Api-Key header, or of an Authorization header's Bearer credentials when it is an API key.</summary>
    internal static string? TokenOf(HttpRequest request)
    {
        if (request.Headers.TryGetValue(HeaderName, out var header) && header.Count > 0)
            return header[0]?.Trim() ?? "";
        var authorization = request.Headers.Authorization.ToString();
        return authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? authorization[7..].Trim() : null;
    }

    private static bool IsLoopback(HttpContext context) =>
        context.Connection.RemoteIpAddress is { } address && IPAddress.IsLoopback(address)
        // A request forwarded by a proxy is not local, whatever its last hop.
        && !context.Request.Headers.ContainsKey("X-Forwarded-For") && !context.Request.Headers.ContainsKey("Forwarded");
}

/// <summary>Who is calling: role, tenant scope and a name for the audit log, as claims of the principal.</summary>
public sealed record Caller(ApiRole Role, string? Tenant, string Actor)
{
    /// <summary>Claim carrying the role's name (viewer, submitter, operator, admin).</summary>
    public const string RoleClaim = "scheduler_role";

    /// <summary>Claim carrying the tenant a caller is scoped to.</summary>
    public const string TenantClaim = "scheduler_tenant";

    /// <summary>Claim carrying the name the audit log records.</summary>
    public const string ActorClaim = "scheduler_actor";

    /// <summary>A principal with these claims.</summary>
    public static ClaimsPrincipal Principal(ApiRole role, string? tenant, string actor)
    {
        var claims = new List<Claim> { new(RoleClaim, role.ToString().ToLowerInvariant()), new(ActorClaim, actor) };
        if (tenant is not null)
            claims.Add(new Claim(TenantClaim, tenant));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, ApiKeyAuthenticationHandler.SchemeName, ActorClaim, RoleClaim));
    }

    /// <summary>The caller of a request that passed its endpoint's policy.</summary>
    public static Caller Of(HttpContext context)
    {
        var user = context.User;
        var role = RoleOf(user) ?? ApiRole.Viewer;
        return new Caller(role, user.FindFirst(TenantClaim)?.Value, user.FindFirst(ActorClaim)?.Value ?? user.Identity?.Name ?? "unknown");
    }

    /// <summary>The role of <paramref name="user"/>; null when it has none.</summary>
    public static ApiRole? RoleOf(ClaimsPrincipal user) =>
        Enum.TryParse<ApiRole>(user.FindFirst(RoleClaim)?.Value, ignoreCase: true, out var role) && Enum.IsDefined(role) ? role : null;

    /// <summary>Whether this caller may see something of <paramref name="tenant"/>.</summary>
    public bool Sees(string tenant) => Tenant is null || string.Equals(Tenant, tenant, StringComparison.Ordinal);
}
