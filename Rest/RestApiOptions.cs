namespace Scheduler.Rest;

/// <summary>The REST API's settings, section "Scheduler:Api".</summary>
public sealed class RestApiOptions
{
    /// <summary>Configuration section.</summary>
    public const string SectionName = "Scheduler:Api";

    /// <summary>
    /// Whether a caller on loopback (127.0.0.1, ::1) without credentials is let in as an admin, as the CLI on the same
    /// host already is through the Orleans gateway. Default true. Turn it off behind a reverse proxy on the same
    /// host, which would otherwise make every outside caller look local. A caller sending credentials is always judged
    /// by them.
    /// </summary>
    public bool TrustLoopback { get; set; } = true;

    /// <summary>How long a checked API key is remembered by this process (default 10 s): also how long a revoked key may still work here.</summary>
    public TimeSpan KeyCacheDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Largest request body, in bytes (default 8 MiB: a batch or workflow of many jobs); larger ones get 413.</summary>
    public long MaxRequestBodyBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>Most jobs in one batch submit (default 10,000).</summary>
    public int MaxBatchSize { get; set; } = 10_000;

    /// <summary>Whether the OpenAPI document and the interactive docs are open to anyone (default false: viewer role).</summary>
    public bool PublicDocs { get; set; }

    /// <summary>Whether the gRPC API (proto/scheduler/v1, docs/grpc.md) is served beside the REST API. Default true.</summary>
    public bool Grpc { get; set; } = true;

    /// <summary>
    /// A port of this host's endpoints (Urls) served with HTTP/2 only, for gRPC without TLS. Kestrel speaks HTTP/2 on
    /// a cleartext port only when the port allows nothing else (without TLS there is no negotiation), so cleartext
    /// gRPC needs a port of its own beside the HTTP/1.1 one; over TLS both share a port. Default none.
    /// </summary>
    public int? GrpcPort { get; set; }

    /// <summary>
    /// Whether the web dashboard is served at / (default true). Its pages hold no data: everything they show comes
    /// from this API with the browser's credentials (docs/dashboard.md).
    /// </summary>
    public bool Dashboard { get; set; } = true;

    /// <summary>JWT bearer tokens from an OpenID Connect issuer; off unless <see cref="JwtOptions.Authority"/> is set.</summary>
    public JwtOptions Jwt { get; set; } = new();

    /// <summary>What is wrong with the settings; empty when they are valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (Jwt.Authority is { } authority && !Uri.TryCreate(authority, UriKind.Absolute, out _))
            yield return $"{SectionName}:Jwt:Authority must be an absolute URL (is '{authority}')";
        if (Jwt.Authority is not null && string.IsNullOrWhiteSpace(Jwt.Audience))
            yield return $"{SectionName}:Jwt:Audience must be set with Jwt:Authority (the audience tokens are issued for)";
        if (KeyCacheDuration < TimeSpan.Zero || KeyCacheDuration > TimeSpan.FromMinutes(10))
            yield return $"{SectionName}:{nameof(KeyCacheDuration)} must be 0 to 10 minutes (is {KeyCacheDuration})";
        if (MaxRequestBodyBytes is < 1024 or > 256L * 1024 * 1024)
            yield return $"{SectionName}:{nameof(MaxRequestBodyBytes)} must be 1 KiB to 256 MiB (is {MaxRequestBodyBytes})";
        if (GrpcPort is < 1 or > 65535)
            yield return $"{SectionName}:{nameof(GrpcPort)} must be 1 to 65535 (is {GrpcPort})";
        if (MaxBatchSize is < 1 or > 100_000)
            yield return $"{SectionName}:{nameof(MaxBatchSize)} must be 1 to 100000 (is {MaxBatchSize})";
    }
}

/// <summary>Settings of JWT bearer authentication, section "Scheduler:Api:Jwt".</summary>
public sealed class JwtOptions
{
    /// <summary>The OpenID Connect issuer (its metadata is read from AUTHORITY/.well-known/openid-configuration). Null (default): JWTs are not accepted.</summary>
    public string? Authority { get; set; }

    /// <summary>The audience tokens must be issued for.</summary>
    public string? Audience { get; set; }

    /// <summary>The claim naming the caller's role: viewer, submitter, operator or admin (default "scheduler_role"); a token without it is refused.</summary>
    public string RoleClaim { get; set; } = "scheduler_role";

    /// <summary>The claim naming the caller's tenant, if any (default "scheduler_tenant").</summary>
    public string TenantClaim { get; set; } = "scheduler_tenant";

    /// <summary>Whether the issuer's metadata must come over HTTPS (default true).</summary>
    public bool RequireHttpsMetadata { get; set; } = true;
}
