using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Hosting.Kubernetes;
using Scheduler.Client;
using Scheduler.Hosting;
using Scheduler.Rest;
using Scheduler.Telemetry;
using Scheduler.Tests.Infrastructure;
using Scheduler.Tests.Rest;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace Scheduler.Tests.Deploy;

/// <summary>
/// deploy/kubernetes, parsed (no cluster runs here) and checked against a real silo: ports are the configured
/// ones, probes hit endpoints the silo maps, every environment variable is a setting the processes read, Services
/// select the pods, the drain fits the termination grace period, and KEDA scales on a metric the Meter exports.
/// </summary>
[Collection(RestApiCollection.Name)]
public sealed partial class KubernetesManifestTests(RestApiFixture fixture)
{
    private static readonly string Folder = Path.Combine(Repository.Root, "deploy", "kubernetes");

    private static readonly Lazy<IReadOnlyList<JsonObject>> Objects = new(Load);

    private static IReadOnlyList<JsonObject> Load()
    {
        var kustomization = Parse(Path.Combine(Folder, "kustomization.yaml")).Single();
        var resources = kustomization["resources"]!.AsArray().Select(r => (string)r!).ToList();
        var files = Directory.GetFiles(Folder, "*.yaml").Select(f => Path.GetFileName(f)!).Where(f => f != "kustomization.yaml").Order().ToList();
        Assert.Equal(files, resources.Order().ToList());
        return [.. resources.SelectMany(r => Parse(Path.Combine(Folder, r)))];
    }

    private static IEnumerable<JsonObject> Parse(string path)
    {
        var deserializer = new DeserializerBuilder().Build();
        var json = new SerializerBuilder().JsonCompatible().Build();
        var parser = new Parser(new StringReader(File.ReadAllText(path)));
        parser.Consume<StreamStart>();
        var documents = new List<JsonObject>();
        while (parser.Accept<DocumentStart>(out _))
        {
            var document = deserializer.Deserialize(parser);
            if (document is not null)
                documents.Add(JsonNode.Parse(json.Serialize(document))!.AsObject());
        }
        return documents;
    }

    private static JsonObject One(string kind, string name) =>
        Objects.Value.Single(o => (string?)o["kind"] == kind && (string?)o["metadata"]!["name"] == name);

    private static IEnumerable<JsonObject> All(string kind) => Objects.Value.Where(o => (string?)o["kind"] == kind);

    private static JsonObject Container(JsonObject deployment) => deployment["spec"]!["template"]!["spec"]!["containers"]!.AsArray().Single()!.AsObject();

    private static Dictionary<string, int> Ports(JsonObject container) =>
        container["ports"]!.AsArray().ToDictionary(p => (string)p!["name"]!, p => int.Parse((string)p!["containerPort"]!, CultureInfo.InvariantCulture));

    /// <summary>The container's environment: its ConfigMaps and Secrets (envFrom), then its own variables.</summary>
    private static Dictionary<string, string?> Environment(JsonObject container)
    {
        var env = new Dictionary<string, string?>();
        foreach (var source in container["envFrom"]?.AsArray() ?? [])
        {
            var (kind, reference) = source!["configMapRef"] is { } map ? ("ConfigMap", map) : ("Secret", source["secretRef"]!);
            var data = One(kind, (string)reference["name"]!)[kind == "ConfigMap" ? "data" : "stringData"]!.AsObject();
            foreach (var (name, value) in data)
                env[name] = (string?)value;
        }
        foreach (var variable in container["env"]?.AsArray() ?? [])
            env[(string)variable!["name"]!] = (string?)variable["value"];
        return env;
    }

    private static int PortOf(string url) => new Uri(url.Replace("://+:", "://localhost:", StringComparison.Ordinal)).Port;

    [Fact]
    public void Silo_PortsAreTheConfiguredOnes_AndItsSettingsAreValid()
    {
        var silo = Container(One("Deployment", "scheduler-silo"));
        var env = Environment(silo);
        var ports = Ports(silo);
        var config = new ConfigurationBuilder().AddInMemoryCollection(env.Select(e => KeyValuePair.Create(e.Key.Replace("__", ":", StringComparison.Ordinal), e.Value))).Build();

        var hosting = new SchedulerHostingOptions();
        config.GetSection("Scheduler").Bind(hosting);
        Assert.Empty(hosting.Validate());
        Assert.True(hosting.Kubernetes);
        Assert.Equal(StorageMode.Postgres, hosting.Storage);
        var api = new RestApiOptions();
        config.GetSection(RestApiOptions.SectionName).Bind(api);
        Assert.Empty(api.Validate());

        Assert.Equal(hosting.SiloPort, ports["silo"]);
        Assert.Equal(hosting.GatewayPort, ports["gateway"]);
        var urls = config["Urls"]!.Split(';').Select(PortOf).ToList();
        Assert.Equal(urls, [ports["http"], ports["grpc"]]);
        Assert.Equal(api.GrpcPort, ports["grpc"]);
    }

    [Fact]
    public void ApiProcess_PortsAreTheConfiguredOnes_AndItsSettingsAreValid()
    {
        var container = Container(One("Deployment", "scheduler-api"));
        var env = Environment(container);
        var ports = Ports(container);
        var config = new ConfigurationBuilder().AddInMemoryCollection(env.Select(e => KeyValuePair.Create(e.Key.Replace("__", ":", StringComparison.Ordinal), e.Value))).Build();
        var client = new SchedulerClientOptions();
        config.GetSection(SchedulerClientOptions.SectionName).Bind(client);
        // It joins the silos' cluster and finds their gateways in the Redis they register in.
        var silo = Environment(Container(One("Deployment", "scheduler-silo")));
        Assert.Equal(silo["Scheduler__ClusterId"], client.ClusterId);
        Assert.Equal(silo["Scheduler__ServiceId"], client.ServiceId);
        Assert.Equal(silo["Scheduler__RedisConnectionString"], client.RedisConnectionString);
        var api = new RestApiOptions();
        config.GetSection(RestApiOptions.SectionName).Bind(api);
        Assert.Empty(api.Validate());
        Assert.False(api.TrustLoopback);
        Assert.Equal(config["Urls"]!.Split(';').Select(PortOf).ToList(), [ports["http"], ports["grpc"]]);
        Assert.Equal(api.GrpcPort, ports["grpc"]);
        // The API process maps only /health; its probes use it.
        Assert.Contains("MapGet(\"/health\"", File.ReadAllText(Path.Combine(Repository.Root, "Api", "Program.cs")), StringComparison.Ordinal);
        foreach (var probe in new[] { "livenessProbe", "readinessProbe" })
            Assert.Equal("/health", (string?)container[probe]!["httpGet"]!["path"]);
    }

    [Fact]
    public void EveryEnvironmentVariable_IsASettingTheProcessesRead()
    {
        var known = new HashSet<string>(StringComparer.Ordinal)
        {
            KubernetesHostingOptions.PodNameEnvironmentVariable,
            KubernetesHostingOptions.PodNamespaceEnvironmentVariable,
            KubernetesHostingOptions.PodIPEnvironmentVariable,
            "Urls", // ASP.NET Core's listening addresses (WebHostDefaults.ServerUrlsKey)
        };
        var roots = new (string Prefix, Type[] Types)[]
        {
            (SchedulerClientOptions.SectionName, [typeof(SchedulerClientOptions)]),
            (RestApiOptions.SectionName, [typeof(RestApiOptions)]),
            ("Scheduler", [typeof(SchedulerHostingOptions), typeof(SchedulerOptions)]),
        };
        var names = All("Deployment").SelectMany(d => Environment(Container(d)).Keys).Distinct().ToList();
        Assert.Contains("Scheduler__PostgresConnectionString", names);
        foreach (var name in names)
        {
            if (known.Contains(name))
                continue;
            var key = name.Replace("__", ":", StringComparison.Ordinal);
            var root = roots.FirstOrDefault(r => key.StartsWith(r.Prefix + ":", StringComparison.Ordinal));
            Assert.True(root.Prefix is not null, $"{name} is not a setting");
            var path = key[(root.Prefix.Length + 1)..].Split(':');
            Assert.True(root.Types.Any(t => Resolves(t, path)), $"{name}: no setting {key}");
        }
    }

    /// <summary>Whether <paramref name="path"/> names a settable property, nested options or list items included.</summary>
    private static bool Resolves(Type type, ReadOnlySpan<string> path)
    {
        if (path.IsEmpty)
            return true;
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>))
            return int.TryParse(path[0], out _) && Resolves(type.GetGenericArguments()[0], path[1..]);
        var property = type.GetProperty(path[0], BindingFlags.Public | BindingFlags.Instance);
        return property is { CanWrite: true } && Resolves(property.PropertyType, path[1..]);
    }

    [Fact]
    public async Task Probes_HitEndpointsTheSiloMaps_OnItsHttpPort()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var silo = Container(One("Deployment", "scheduler-silo"));
        using var http = fixture.Anonymous();
        foreach (var probe in new[] { "startupProbe", "livenessProbe", "readinessProbe" })
        {
            var get = silo[probe]!["httpGet"]!;
            Assert.Equal("http", (string?)get["port"]);
            var path = (string)get["path"]!;
            Assert.StartsWith("/health/", path, StringComparison.Ordinal);
            // Open to all, as a kubelet calls it: 200 when healthy (503 when not); never 401 or 404.
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(path, cts.Token)).StatusCode);
        }
        Assert.Equal("/health/live", (string?)silo["livenessProbe"]!["httpGet"]!["path"]);
        Assert.Equal("/health/ready", (string?)silo["readinessProbe"]!["httpGet"]!["path"]);
    }

    [Fact]
    public void Services_SelectTheirPods_AndTargetNamedContainerPorts_AndKeepTheSiloPortsPrivate()
    {
        foreach (var service in All("Service"))
        {
            var selector = service["spec"]!["selector"]!.AsObject().ToDictionary(p => p.Key, p => (string?)p.Value);
            var deployment = Assert.Single(All("Deployment"), d =>
                selector.All(s => (string?)d["spec"]!["template"]!["metadata"]!["labels"]![s.Key] == s.Value));
            var ports = Ports(Container(deployment));
            Assert.Equal("ClusterIP", (string?)service["spec"]!["type"]);
            foreach (var port in service["spec"]!["ports"]!.AsArray())
            {
                var target = (string)port!["targetPort"]!;
                Assert.True(ports.ContainsKey(target), $"{service["metadata"]!["name"]}: no container port {target}");
                Assert.DoesNotContain(target, new[] { "silo", "gateway" });
            }
            // A Deployment's selector matches its own pods.
            foreach (var (label, value) in deployment["spec"]!["selector"]!["matchLabels"]!.AsObject())
                Assert.Equal((string?)value, (string?)deployment["spec"]!["template"]!["metadata"]!["labels"]![label]);
        }
    }

    [Fact]
    public void TerminationGracePeriod_CoversThePreStopAndTheDrain()
    {
        var deployment = One("Deployment", "scheduler-silo");
        var silo = Container(deployment);
        var drain = TimeSpan.Parse(Environment(silo)["Scheduler__ShutdownGracePeriod"]!, CultureInfo.InvariantCulture);
        var preStop = silo["lifecycle"]!["preStop"]!["exec"]!["command"]!.AsArray().Select(c => (string)c!).ToList();
        Assert.Equal("sleep", preStop[0]);
        var sleep = int.Parse(preStop[1], CultureInfo.InvariantCulture);
        var grace = int.Parse((string)deployment["spec"]!["template"]!["spec"]!["terminationGracePeriodSeconds"]!, CultureInfo.InvariantCulture);
        // The host lets the silo stop for ShutdownGracePeriod + 20 s (SchedulerHostExtensions); Kubernetes kills after grace.
        Assert.True(grace >= sleep + drain.TotalSeconds + 20, $"terminationGracePeriodSeconds {grace} < {sleep} + {drain.TotalSeconds} + 20");
    }

    [Fact]
    public void SiloServiceAccount_MayWatchAndLabelPods()
    {
        var account = (string)One("Deployment", "scheduler-silo")["spec"]!["template"]!["spec"]!["serviceAccountName"]!;
        One("ServiceAccount", account);
        var binding = Assert.Single(All("RoleBinding"), b => b["subjects"]!.AsArray().Any(s => (string?)s!["name"] == account));
        var role = One("Role", (string)binding["roleRef"]!["name"]!);
        var rule = Assert.Single(role["rules"]!.AsArray(), r => r!["resources"]!.AsArray().Any(x => (string?)x == "pods"));
        Assert.Superset(new HashSet<string> { "get", "list", "watch", "patch" }, rule!["verbs"]!.AsArray().Select(v => (string)v!).ToHashSet());
    }

    [Fact]
    public void Autoscaler_ScalesTheSilos_OnAQueueDepthTheMeterExports()
    {
        var scaled = One("ScaledObject", "scheduler-silo");
        One("Deployment", (string)scaled["spec"]!["scaleTargetRef"]!["name"]!);
        Assert.True(int.Parse((string)scaled["spec"]!["minReplicaCount"]!, CultureInfo.InvariantCulture) >= 1);
        var query = (string)scaled["spec"]!["triggers"]![0]!["metadata"]!["query"]!;

        // The instruments of the running silo's Meter, as a listener sees them.
        Assert.NotNull(fixture.App.Services.GetRequiredService<SchedulerMetrics>());
        var instruments = new Dictionary<string, Instrument>();
        using (var listener = new MeterListener())
        {
            listener.InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Name == SchedulerMetrics.MeterName)
                    lock (instruments)
                        instruments[instrument.Name] = instrument;
            };
            listener.Start();
        }
        var metrics = MetricName().Matches(query).Select(m => m.Value).Distinct().ToList();
        Assert.Equal(["scheduler_queue_depth"], metrics);
        foreach (var metric in metrics)
        {
            // The Prometheus exporter writes a gauge under its instrument's name with '_' for '.'.
            var instrument = instruments.Values.SingleOrDefault(i => i.Name.Replace('.', '_') == metric);
            Assert.True(instrument is not null, $"{metric} is not an instrument of meter {SchedulerMetrics.MeterName}: {string.Join(", ", instruments.Keys)}");
            Assert.Equal("ObservableGauge`1", instrument.GetType().Name);
        }

        // Prometheus scrapes what KEDA queries: the silo Service's HTTP port at the silo's scrape path.
        var monitor = One("ServiceMonitor", "scheduler-silo");
        var endpoint = monitor["spec"]!["endpoints"]![0]!;
        Assert.Equal(new TelemetryOptions().PrometheusPath, (string?)endpoint["path"]);
        var service = One("Service", "scheduler-silo");
        Assert.Contains(service["spec"]!["ports"]!.AsArray(), p => (string?)p!["name"] == (string?)endpoint["port"]);
        foreach (var (label, value) in monitor["spec"]!["selector"]!["matchLabels"]!.AsObject())
            Assert.Equal((string?)value, (string?)service["metadata"]!["labels"]![label]);
    }

    [GeneratedRegex("scheduler_[a-z_]+")]
    private static partial Regex MetricName();

    [Fact]
    public void KubernetesSwitch_AddsOrleansKubernetesHosting_AndNeedsRedis()
    {
        var withoutRedis = WebApplication.CreateBuilder();
        withoutRedis.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Scheduler:Storage"] = "Postgres",
            ["Scheduler:PostgresConnectionString"] = "Host=127.0.0.1",
            ["Scheduler:Kubernetes"] = "true",
        });
        var refused = Assert.Throws<OptionsValidationException>(() => withoutRedis.AddScheduler());
        Assert.Contains("Scheduler:Kubernetes needs Scheduler:RedisConnectionString", refused.Message, StringComparison.Ordinal);

        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Scheduler:Storage"] = "Postgres",
            ["Scheduler:PostgresConnectionString"] = "Host=127.0.0.1",
            ["Scheduler:RedisConnectionString"] = "127.0.0.1:6379",
            ["Scheduler:Kubernetes"] = "true",
        });
        builder.AddScheduler();
        // What UseKubernetesHosting registers: the options read from POD_NAME, POD_NAMESPACE and POD_IP.
        Assert.Contains(builder.Services, d => d.ServiceType == typeof(IConfigureOptions<KubernetesHostingOptions>));
    }
}
