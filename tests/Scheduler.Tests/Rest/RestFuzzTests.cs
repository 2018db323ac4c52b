using System.Net;
using System.Text;
using System.Text.Json;
using Scheduler.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Scheduler.Tests.Rest;

/// <summary>
/// 1,200 malformed, oversized and random requests across the endpoints, as an admin (so they reach the parsing and
/// validation, not just the door): every answer is a 4xx (or a 2xx for the rare valid one), never a 5xx; no refused
/// submission left a job behind; the silo still serves afterwards.
/// </summary>
[Collection(RestApiCollection.Name)]
public sealed class RestFuzzTests(RestApiFixture fixture, ITestOutputHelper output)
{
    private const string Tenant = "fuzz";

    [Fact]
    public async Task MalformedRequests_AreRefusedWith4xx_StoreNothing_AndLeaveTheSiloHealthy()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(6));
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var existing = (await fixture.Sdk.SubmitManyAsync([new JobRequest { Handler = WorkHandler.Name, Tenant = "fuzz-target", NotBefore = DateTimeOffset.UtcNow.AddHours(1) }], cts.Token))[0].Id;
        using var http = fixture.Admin();
        var accepted = 0;
        var statuses = new Dictionary<int, int>();
        var serverErrors = new List<string>();

        for (var i = 0; i < 1200; i++)
        {
            var (method, path, body, contentType) = Next(random, existing);
            using var request = new HttpRequestMessage(new HttpMethod(method), path);
            if (body is not null)
                request.Content = new ByteArrayContent(body) { Headers = { { "Content-Type", contentType } } };
            int status;
            string text;
            try
            {
                using var response = await http.SendAsync(request, cts.Token);
                status = (int)response.StatusCode;
                text = await response.Content.ReadAsStringAsync(cts.Token);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && body is { Length: > 8 * 1024 * 1024 } && !cts.IsCancellationRequested)
            {
                // Kestrel may close the connection on a body over the limit before the client has sent it all.
                statuses[413] = statuses.GetValueOrDefault(413) + 1;
                continue;
            }
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            if (status >= 500)
                serverErrors.Add($"{method} {path} [{(body is null ? "" : Encoding.UTF8.GetString(body.AsSpan(0, Math.Min(body.Length, 200))))}] -> {status} {text[..Math.Min(text.Length, 300)]}");
            if (status is 200 or 201 && method == "POST" && path.Split('?')[0] is "/api/v1/jobs" or "/api/v1/jobs/batch")
            {
                using var json = JsonDocument.Parse(text);
                accepted += json.RootElement.ValueKind == JsonValueKind.Array ? json.RootElement.GetArrayLength() : 1;
            }
        }
        output.WriteLine(string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}")));

        Assert.Empty(serverErrors);
        Assert.Equal(1200, statuses.Values.Sum());
        // Every fuzzed submission names tenant "fuzz": the jobs it holds are exactly those of accepted answers.
        var stored = await fixture.Sdk.ListAsync(new JobFilter { Tenant = Tenant, Limit = 10_000 }, cts.Token);
        Assert.Equal(accepted, stored.Count);
        Assert.True(accepted > 0, "no fuzzed submission was valid: the check above proved nothing");

        // Still healthy: the health check answers and a job runs.
        using var anonymous = fixture.Anonymous();
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health", cts.Token)).StatusCode);
        var created = await http.PostJsonAsync("/api/v1/jobs", RestJson.Work(tag: "after-fuzz"));
        var id = (await created.ReadJsonAsync()).GetProperty("id").GetString();
        var done = await (await http.GetAsync($"/api/v1/jobs/{id}/wait?timeout=60", cts.Token)).ReadJsonAsync();
        Assert.Equal("succeeded", done.GetProperty("state").GetString());
    }

    /// <summary>The endpoints with their methods; a request takes another method now and then.</summary>
    private static readonly (string Method, string Path)[] Routes =
    [
        ("POST", "/api/v1/jobs"), ("POST", "/api/v1/jobs/batch"), ("GET", "/api/v1/jobs"), ("GET", "/api/v1/jobs/{id}"),
        ("GET", "/api/v1/jobs/{id}/wait"), ("POST", "/api/v1/jobs/{id}/cancel"), ("POST", "/api/v1/jobs/{id}/reschedule"),
        ("POST", "/api/v1/jobs/{id}/requeue"), ("GET", "/api/v1/jobs/{id}/history"), ("GET", "/api/v1/jobs/{id}/logs"),
        ("POST", "/api/v1/workflows"), ("GET", "/api/v1/workflows/{id}"), ("POST", "/api/v1/workflows/{id}/cancel"),
        ("POST", "/api/v1/workflows/{id}/jobs"), ("POST", "/api/v1/workflows/{id}/reschedule"), ("POST", "/api/v1/workflows/{id}/pause"),
        ("POST", "/api/v1/schedules"), ("GET", "/api/v1/schedules"), ("GET", "/api/v1/schedules/{name}"),
        ("POST", "/api/v1/schedules/{name}/pause"), ("POST", "/api/v1/schedules/{name}/backfill"), ("DELETE", "/api/v1/schedules/{name}"),
        ("PUT", "/api/v1/limits/keys/{name}"), ("GET", "/api/v1/limits/keys/{name}"), ("GET", "/api/v1/limits/scopes/{name}"),
        ("GET", "/api/v1/deadletters"), ("POST", "/api/v1/deadletters/requeue"), ("POST", "/api/v1/deadletters/purge"),
        ("GET", "/api/v1/stats"), ("GET", "/api/v1/audit"), ("POST", "/api/v1/keys"), ("DELETE", "/api/v1/keys/{name}"),
        ("GET", "/api/v1/{name}"), ("POST", "/api/v1/jobs/{name}/{name}"),
    ];

    private static readonly string[] Methods = ["GET", "POST", "PUT", "DELETE", "PATCH"];

    private static readonly string[] Queries =
    [
        "", "?limit=-5", "?limit=abc", "?limit=99999999", "?timeout=NaN", "?timeout=-1", "?timeout=1e9", "?cursor=%00%01",
        "?cursor=MTIzOmFiYw", "?state=exploded", "?state=7", "?after=-1", "?max=0", "?max=10001", "?next=-3", "?before=0",
        "?tenant=" + new string('t', 300), "?queue=a%20b", "?failedBefore=yesterday", "?timeout=0.01",
    ];

    private static (string Method, string Path, byte[]? Body, string ContentType) Next(Random random, JobId existing)
    {
        var (method, path) = Routes[random.Next(Routes.Length)];
        if (random.Next(8) == 0)
            method = Methods[random.Next(Methods.Length)];
        path = path
            .Replace("{id}", random.Next(4) switch { 0 => existing.ToString(), 1 => Guid.NewGuid().ToString(), 2 => "not-a-guid", _ => "00000000-0000-0000-0000-000000000000" }, StringComparison.Ordinal)
            .Replace("{name}", random.Next(3) switch { 0 => RandomText(random, random.Next(1, 40)), 1 => "matrix", _ => new string('x', random.Next(100, 400)) }, StringComparison.Ordinal);
        // Characters a URL cannot carry as they are.
        var wait = path.EndsWith("/wait", StringComparison.Ordinal);
        path = string.Join('/', path.Split('/').Select(Uri.EscapeDataString)) + Queries[random.Next(Queries.Length)];
        // A valid wait on the queued job would hold the loop for the default 30 s (a dozen of them outlasted the test).
        if (wait && !path.Contains("timeout=", StringComparison.Ordinal))
            path += (path.Contains('?') ? "&" : "?") + "timeout=0.05";
        var body = method is "GET" or "DELETE" && random.Next(4) != 0 ? null : Body(random);
        // Submissions get well-formed bodies half the time, mixing valid and invalid jobs, so that some are accepted
        // and the count of stored jobs below is tested.
        if (method == "POST" && path.StartsWith("/api/v1/jobs/batch", StringComparison.Ordinal) && random.Next(2) == 0)
            return (method, path, Encoding.UTF8.GetBytes("{\"jobs\":[" + string.Join(",", Enumerable.Range(0, random.Next(1, 6))
                .Select(_ => Job(random, valid: true)).Concat(random.Next(2) == 0 ? [] : [Job(random, valid: false)])) + "]}"), "application/json");
        if (method == "POST" && path.Split('?')[0] == "/api/v1/jobs" && random.Next(2) == 0)
            return (method, path, Encoding.UTF8.GetBytes(Job(random, valid: random.Next(2) == 0)), "application/json");
        var contentType = random.Next(10) switch { 0 => "text/plain", 1 => "application/xml", 2 => "application/json; charset=latin1", _ => "application/json" };
        return (method, path, body, contentType);
    }

    private static byte[] Body(Random random) => random.Next(20) switch
    {
        0 => [],
        1 => RandomBytes(random, random.Next(1, 2000)),
        2 => Encoding.UTF8.GetString(RandomBytes(random, 10)) is var s ? Encoding.UTF8.GetBytes("{\"handler\":\"" + s + "\"}") : [],
        3 => Encoding.UTF8.GetBytes(new string('[', 5000) + new string(']', 5000)),
        4 => Encoding.UTF8.GetBytes("{\"jobs\":[" + string.Join(",", Enumerable.Repeat(Job(random, valid: false), 10_001)) + "]}"),
        5 when random.Next(8) == 0 => Encoding.UTF8.GetBytes("{\"handler\":\"test.work\",\"payload\":\"" + new string('p', 8 * 1024 * 1024 + 10) + "\"}"),
        6 => Encoding.UTF8.GetBytes("{\"handler\":\"test.work\",\"tenant\":\"fuzz\",\"payload\":\"" + new string('p', 300 * 1024) + "\"}"),
        7 => Encoding.UTF8.GetBytes("{"),
        8 => Encoding.UTF8.GetBytes("null"),
        9 => Encoding.UTF8.GetBytes("12345"),
        10 => Encoding.UTF8.GetBytes("\"just a string\""),
        11 => Encoding.UTF8.GetBytes("{\"jobs\":[" + string.Join(",", Enumerable.Range(0, random.Next(1, 6)).Select(_ => Job(random, valid: true)).Concat(random.Next(3) == 0 ? [] : [Job(random, valid: false)])) + "]}"),
        12 => Encoding.UTF8.GetBytes(Job(random, valid: false)),
        13 => Encoding.UTF8.GetBytes("{\"ids\":[" + string.Join(",", Enumerable.Range(0, random.Next(0, 1500)).Select(_ => $"\"{Guid.NewGuid()}\"")) + "],\"attempts\":" + random.Next(-5, 500) + "}"),
        14 => Encoding.UTF8.GetBytes("{\"id\":\"" + RandomText(random, 20) + "\",\"trigger\":{\"cron\":\"" + RandomText(random, 12) + "\"},\"job\":{\"handler\":\"test.work\",\"tenant\":\"fuzz\"},\"maxRuns\":-1}"),
        15 => Encoding.UTF8.GetBytes("{\"tenant\":\"fuzzwf\",\"jobs\":[{\"name\":\"a\",\"handler\":\"test.work\",\"dependsOn\":[{\"job\":\"a\"}]}]}"),
        16 => Encoding.UTF8.GetBytes("{\"limit\":" + random.Next(-10, 10) * 100_000 + ",\"rate\":{\"count\":-1,\"window\":\"-00:00:01\"}}"),
        17 => Encoding.UTF8.GetBytes("{\"notBefore\":\"" + RandomText(random, 10) + "\",\"reason\":" + random.Next() + "}"),
        18 => Encoding.UTF8.GetBytes("{\"name\":\"" + RandomText(random, 8) + "\",\"role\":\"" + RandomText(random, 5) + "\"}"),
        _ => Encoding.UTF8.GetBytes("{\"handler\":\"test.work\",\"tenant\":\"fuzz\",\"priority\":" + random.Next(-1000, 1000) + ",\"unknown\":1}"),
    };

    /// <summary>A job of tenant "fuzz": valid, or broken in one way the SDK's validation or the JSON reader refuses.</summary>
    private static string Job(Random random, bool valid) => valid
        ? "{\"handler\":\"test.work\",\"tenant\":\"fuzz\",\"notBefore\":\"" + DateTimeOffset.UtcNow.AddDays(1).ToString("O") + "\"}"
        : random.Next(10) switch
        {
            0 => "{\"handler\":5,\"tenant\":\"fuzz\"}",
            1 => "{\"handler\":\"test.work\",\"tenant\":\"fuzz\",\"priority\":\"high\"}",
            2 => "{\"handler\":\"test.work\",\"tenant\":\"fuzz\",\"limits\":{\"maxAttempts\":1e100}}",
            3 => "{\"handler\":\"test.work\",\"tenant\":\"fuzz\",\"notBefore\":\"9999-12-31T23:59:59Z\"}",
            4 => "{\"handler\":\"test.work\",\"tenant\":\"fuzz\",\"limits\":{\"timeout\":\"-00:01:00\"}}",
            5 => "{\"handler\":\"test.work\",\"tenant\":\"fuzz\",\"id\":\"00000000-0000-0000-0000-000000000000\"}",
            6 => "{\"handler\":\"test.work\",\"tenant\":\"" + new string('t', 1000) + "\"}",
            7 => "{\"handler\":\"test.work\",\"tenant\":\"fuzz\",\"exclusive\":\"sideways\"}",
            8 => "{\"handler\":\"test.work\",\"tenant\":\"fuzz\",\"concurrency\":[{\"key\":\"\",\"limit\":0}]}",
            _ => "{\"handler\":\"no.such.handler\",\"tenant\":\"fuzz\"}",
        };

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static string RandomText(Random random, int length) =>
        new([.. Enumerable.Range(0, length).Select(_ => (char)random.Next(32, 0x2FF))]);
}
