namespace Scheduler.Hosting;

public enum StorageMode
{
    /// <summary>Durable local storage (SQLite) in <see cref="SchedulerHostingOptions.DataDirectory"/>: the default.</summary>
    Embedded = 1,

    /// <summary>In memory: lost when the silo stops. For tests and benchmarks.</summary>
    Memory = 2,

    /// <summary>PostgreSQL (<see cref="SchedulerHostingOptions.PostgresConnectionString"/>): the cluster profile.</summary>
    Postgres = 3,
}

/// <summary>How the silo is hosted, bound from configuration section "Scheduler" (env: Scheduler__Storage etc.).</summary>
public sealed class SchedulerHostingOptions
{
    /// <summary>Where state is kept. Default <see cref="StorageMode.Embedded"/>.</summary>
    public StorageMode Storage { get; set; } = StorageMode.Embedded;

    /// <summary>Folder of the embedded store. Default: ~/.local/share/scheduler (the user's local application data).</summary>
    public string DataDirectory { get; set; } = DefaultDataDirectory;

    /// <summary>
    /// PostgreSQL connection string, for <see cref="StorageMode.Postgres"/> (setting "Scheduler:PostgresConnectionString",
    /// env Scheduler__PostgresConnectionString). It holds a password: pass it through the environment or a secret store.
    /// </summary>
    public string? PostgresConnectionString { get; set; }

    /// <summary>
    /// Redis connection string for cluster membership (e.g. "127.0.0.1:6379"). When set, silos find each other through
    /// Redis and listen on <see cref="AdvertisedAddress"/>; when empty, the silo runs alone on loopback.
    /// </summary>
    public string? RedisConnectionString { get; set; }

    /// <summary>The address this silo advertises to the cluster when Redis membership is used. Default 127.0.0.1.</summary>
    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    /// <summary>
    /// With Redis membership: listen for silo and gateway connections on every local address (0.0.0.0) while
    /// advertising <see cref="AdvertisedAddress"/>. Default false: listen on the advertised address only. Containers
    /// set it, so the silo is reachable on every network the container joins.
    /// </summary>
    public bool ListenOnAnyAddress { get; set; }

    /// <summary>
    /// Run as a Kubernetes pod (docs/kubernetes.md): Orleans' Kubernetes hosting names the silo after its pod,
    /// advertises the pod's IP (env POD_IP) and listens on every address, and its agent declares the silo of a deleted
    /// pod dead at once (RBAC: get, list, watch and patch pods). Needs <see cref="RedisConnectionString"/> for
    /// membership; <see cref="AdvertisedAddress"/> and <see cref="ListenOnAnyAddress"/> are then not used. Default false.
    /// </summary>
    public bool Kubernetes { get; set; }

    /// <summary>
    /// How long the silo keeps retrying, at start, to reach PostgreSQL and Redis before it gives up with an error.
    /// Default 5 minutes. Retries back off exponentially from 1 s to 30 s.
    /// </summary>
    public TimeSpan StartupTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Cluster profile: how often each silo probes others, and how long one probe may take (Orleans'
    /// <c>ClusterMembershipOptions.ProbeTimeout</c>). Three missed probes make a silo suspect, so a killed silo is
    /// declared dead after about three of these; jobs whose grains it held wait for that. Orleans' default is 5 s
    /// (about 15 s to detect); ours is 2 s, so a killed silo's jobs run again within about 10 s. Shorter risks
    /// declaring a silo dead that is only slow.
    /// </summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Orleans cluster id. Default "scheduler".</summary>
    public string ClusterId { get; set; } = "scheduler";

    /// <summary>Orleans service id; scopes every stored row. Default "scheduler".</summary>
    public string ServiceId { get; set; } = "scheduler";

    /// <summary>Silo-to-silo port. Default 11111.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>Port clients (SDK, CLI) connect to. Default 30000.</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>Serve the Orleans Dashboard at /dashboard. Default true. It has no authentication: keep the HTTP port private.</summary>
    public bool Dashboard { get; set; } = true;

    public static string DefaultDataDirectory =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify), "scheduler");

    public IEnumerable<string> Validate()
    {
        if (!Enum.IsDefined(Storage))
            yield return $"Scheduler:Storage must be Embedded, Memory or Postgres (was {Storage})";
        if (Storage == StorageMode.Postgres && string.IsNullOrWhiteSpace(PostgresConnectionString))
            yield return "Scheduler:PostgresConnectionString must be set when Scheduler:Storage is Postgres";
        if (Storage != StorageMode.Postgres && !string.IsNullOrWhiteSpace(RedisConnectionString))
            yield return "Scheduler:RedisConnectionString (a cluster) needs shared storage: set Scheduler:Storage to Postgres";
        if (Kubernetes && string.IsNullOrWhiteSpace(RedisConnectionString))
            yield return "Scheduler:Kubernetes needs Scheduler:RedisConnectionString: silos find each other through Redis";
        if (!System.Net.IPAddress.TryParse(AdvertisedAddress, out _))
            yield return $"Scheduler:AdvertisedAddress must be an IP address (was '{AdvertisedAddress}')";
        if (Storage == StorageMode.Embedded && string.IsNullOrWhiteSpace(DataDirectory))
            yield return "Scheduler:DataDirectory must name a folder for the embedded store";
        if (string.IsNullOrWhiteSpace(ClusterId))
            yield return "Scheduler:ClusterId must not be empty";
        if (string.IsNullOrWhiteSpace(ServiceId))
            yield return "Scheduler:ServiceId must not be empty";
        if (SiloPort is < 1 or > 65535)
            yield return $"Scheduler:SiloPort must be 1 to 65535 (was {SiloPort})";
        if (GatewayPort is < 1 or > 65535)
            yield return $"Scheduler:GatewayPort must be 1 to 65535 (was {GatewayPort})";
        if (ProbeTimeout < TimeSpan.FromMilliseconds(500) || ProbeTimeout > TimeSpan.FromMinutes(1))
            yield return $"Scheduler:ProbeTimeout must be 00:00:00.5 to 00:01:00 (was {ProbeTimeout})";
        if (StartupTimeout <= TimeSpan.Zero)
            yield return $"Scheduler:StartupTimeout must be positive (was {StartupTimeout})";
        if (SiloPort == GatewayPort)
            yield return $"Scheduler:SiloPort and Scheduler:GatewayPort must differ (both {SiloPort})";
    }
}
