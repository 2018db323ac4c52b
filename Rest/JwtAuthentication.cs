using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Http;

namespace Scheduler.Rest;

/// <summary>
/// JWT bearer tokens from an OpenID Connect issuer (<see cref="JwtOptions"/>): validated by ASP.NET Core's handler,
/// then mapped onto the same claims an API key gives (role, tenant, actor "jwt:&lt;subject&gt;").
/// </summary>
internal static class JwtAuthentication
{
    public const string SchemeName = "SchedulerJwt";

    /// <summary>A bearer token that is not an API key and has a JWT's three parts.</summary>
    public static bool IsJwt(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (!authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return false;
        var token = authorization.AsSpan(7).Trim();
        return !token.StartsWith(ApiKeyTokens.Prefix, StringComparison.Ordinal) && token.Count('.') == 2;
    }

    public static void Configure(JwtBearerOptions options, JwtOptions jwt)
    {
        options.Authority = jwt.Authority;
        options.Audience = jwt.Audience;
        options.RequireHttpsMetadata = jwt.RequireHttpsMetadata;
        options.MapInboundClaims = false;
        options.Events = new JwtBearerEvents
        {
            OnTokenValidated = context =>
            {
                var user = context.Principal!;
                var roles = user.FindAll(jwt.RoleClaim)
                    .Select(c => Enum.TryParse<ApiRole>(c.Value, ignoreCase: true, out var role) && Enum.IsDefined(role) && !c.Value.Any(char.IsAsciiDigit) ? role : (ApiRole?)null)
                    .Where(r => r is not null).ToList();
                if (roles.Count == 0)
                {
                    context.Fail($"the token has no '{jwt.RoleClaim}' claim naming a role (viewer, submitter, operator or admin)");
                    return Task.CompletedTask;
                }
                var tenant = user.FindFirst(jwt.TenantClaim)?.Value;
                if (tenant is not null && !RequestValidation.IsName(tenant))
                {
                    context.Fail($"the token's tenant '{tenant}' is not a valid name");
                    return Task.CompletedTask;
                }
                var role = roles.Max()!.Value;
                if (tenant is not null && role == ApiRole.Admin)
                    role = ApiRole.Operator; // admin spans tenants: a tenant-scoped token gets at most operator
                var subject = user.FindFirst("sub")?.Value ?? user.FindFirst("client_id")?.Value ?? "unknown";
                context.Principal = Caller.Principal(role, tenant, $"jwt:{subject}");
                return Task.CompletedTask;
            },
        };
    }
}
