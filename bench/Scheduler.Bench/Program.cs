using System.CommandLine;
using Scheduler.Bench;

var storage = new Option<string>("--storage") { Description = "memory | embedded | postgres", DefaultValueFactory = _ => "memory" };
storage.AcceptOnlyFromAmong("memory", "embedded", "postgres");
var jobs = new Option<int>("--jobs") { Description = "jobs to submit", DefaultValueFactory = _ => 100_000 };
var mode = new Option<string>("--mode")
{
    Description = "burst: submit all at once; paced: submit at --rate per second; recovery: silo processes, kill -9 one, time until its jobs run again; " +
        "delayed: submit delayed jobs due --rate per second, measure how late they start after their due time; " +
        "schedules: --schedules schedules each firing a no-op job --every seconds, for --duration seconds: firing lateness, missed, duplicates; " +
        "retention: fill --prune-rows old finished jobs, then a burst of --jobs without and while pruning them (postgres); " +
        "keys: bursts of --jobs without keys and with --keys (default 1000) mutex keys, ratio of the rates; " +
        "mutex: --jobs jobs on one key with limit 1, gaps from each run's end to the next start; " +
        "ratelimit: one key limited to --rate-limit starts per --window seconds for --duration seconds, starts per window; " +
        "fairness: tenant A floods --jobs jobs, then tenant B submits 10: B's start latency and start positions; " +
        "features: bursts of --jobs with fair share, aging, gates, breakers and backpressure on and off, in turn (2 each), each in a process of its own, ratio of the rates; " +
        "backlog: --capacity slots held by long jobs, --jobs waiting jobs submitted (postgres): submit rate empty vs full, memory, listing latency, then a restart: shard heads, first start, strict priority; " +
        "rest: batch submits of --jobs through the REST API and through the SDK, alternated (jobs/s of each, ratio), then single REST submits at 200/s for --duration seconds (latency p50/p99)",
    DefaultValueFactory = _ => "burst",
};
mode.AcceptOnlyFromAmong("burst", "paced", "recovery", "delayed", "schedules", "retention", "keys", "mutex", "ratelimit", "fairness", "rest", "backlog", "features");
var rate = new Option<int>("--rate") { Description = "jobs per second in paced mode (with --workflows: a workflow every 4 / rate seconds)", DefaultValueFactory = _ => 1000 };
var capacity = new Option<int>("--capacity") { Description = "the silo's MaxConcurrentJobs", DefaultValueFactory = _ => 1000 };
var batch = new Option<int>("--batch") { Description = "requests per submit call in burst mode", DefaultValueFactory = _ => 1000 };
var timeout = new Option<int>("--timeout") { Description = "seconds to wait for completion before counting the rest as lost", DefaultValueFactory = _ => 600 };
var postgres = new Option<string?>("--postgres") { Description = "PostgreSQL connection string for --storage postgres; default: a throwaway local server (fsync on)" };
var redis = new Option<string?>("--redis") { Description = "Redis connection string for several silos; default: a throwaway local server" };
var workflows = new Option<string?>("--workflows") { Description = "chain | diamond: submit workflows of 4 no-op jobs (--jobs counts their jobs) and measure parent end → child start" };
workflows.AcceptOnlyFromAmong("chain", "diamond");
var silos = new Option<int>("--silos") { Description = "silos to run (above 1 needs --storage postgres)", DefaultValueFactory = _ => 1 };
var failOncePercent = new Option<int>("--fail-once-percent") { Description = "percent of jobs whose first attempt fails (retriable) and whose second succeeds", DefaultValueFactory = _ => 0 };
var kills = new Option<int>("--kills") { Description = "recovery mode: rounds, each killing one silo with -9", DefaultValueFactory = _ => 3 };
var warmup = new Option<int>("--warmup") { Description = "paced mode: seconds of paced load at --rate before measuring (jobs: reported apart; workflows: left out)", DefaultValueFactory = _ => 5 };
var schedules = new Option<int>("--schedules") { Description = "schedules mode: how many schedules", DefaultValueFactory = _ => 1000 };
var every = new Option<int>("--every") { Description = "schedules mode: each schedule's interval in seconds", DefaultValueFactory = _ => 10 };
var duration = new Option<int?>("--duration") { Description = "schedules mode: seconds measured, after every schedule has fired once (default 120); ratelimit mode: seconds of starts the jobs fill (default 180); rest mode: seconds of paced REST submits (default 30)" };
var rateLimit = new Option<int>("--rate-limit") { Description = "ratelimit mode: starts allowed per --window", DefaultValueFactory = _ => 60 };
var window = new Option<int>("--window") { Description = "ratelimit mode: the rate limit's sliding window in seconds", DefaultValueFactory = _ => 60 };
var pruneRows = new Option<int>("--prune-rows") { Description = "retention mode: old finished jobs written before the bursts", DefaultValueFactory = _ => 1_000_000 };
var keys = new Option<int>("--keys") { Description = "burst/paced: each job holds one of this many mutex concurrency keys (0: none)", DefaultValueFactory = _ => 0 };
var metrics = new Option<bool>("--metrics") { Description = "the silos aggregate their metrics for a Prometheus scrape, as a configured silo does (default: nothing listens)" };
var ordering = new Option<string>("--ordering")
{
    Description = "on: fair share between tenants and aging on the default queue (1 point a minute, at most 10); off: neither (one line per priority)",
    DefaultValueFactory = _ => "on",
};
ordering.AcceptOnlyFromAmong("on", "off");
var tenants = new Option<int>("--tenants") { Description = "burst/paced: jobs go to this many tenants in turn", DefaultValueFactory = _ => 1 };
var protection = new Option<bool>("--protection") { Description = "burst/paced: with gates, breakers and backpressure on (bounds far above the load, a breaker on the job handler, a paused gate on another tenant), to compare with a run without" };
var counts = new Option<string>("--counts")
{
    Description = "burst/paced: on: count grain calls, activations, database commands and bytes per job and check them against docs/cost-budget.md (exit 3 when over); off: measure without the counting's own cost",
    DefaultValueFactory = _ => "on",
};
counts.AcceptOnlyFromAmong("on", "off");
var scheduleLead = new Option<int?>("--schedule-lead") { Description = "schedules mode: the silos' Scheduler:ScheduleLead in milliseconds (how far ahead of its time an occurrence fires; default the silo's, 0)" };
var spread = new Option<string>("--spread")
{
    Description = "schedules mode: even: schedule i starts i/N of a period into a common anchor (a steady rate); creation: each counts from its creation (bunched as the creations were)",
    DefaultValueFactory = _ => "even",
};
spread.AcceptOnlyFromAmong("even", "creation");
var trace = new Option<bool>("--trace") { Description = "fairness mode: stamp every job's enqueue, pull and TryStart (a grain call filter, which costs time) and report B's positions in each stage's order" };
var leasePeriod = new Option<int>("--lease-period") { Description = "recovery mode: the silos' Scheduler:LeasePeriod in seconds", DefaultValueFactory = _ => 8 };

var root = new RootCommand("Scheduler load generator: end-to-end throughput, submit-to-start latency, lost and duplicated executions.")
{
    storage, jobs, mode, rate, capacity, batch, timeout, postgres, redis, silos, workflows, failOncePercent, kills, leasePeriod, warmup,
    schedules, every, duration, pruneRows, keys, rateLimit, window, metrics, ordering, tenants, protection,
};
root.Options.Add(counts);
root.Options.Add(scheduleLead);
root.Options.Add(spread);
root.Options.Add(trace);
root.SetAction(async (parse, ct) =>
{
    var settings = new BenchSettings(
        parse.GetValue(storage)!, parse.GetValue(jobs), parse.GetValue(mode)!, parse.GetValue(rate),
        parse.GetValue(capacity), parse.GetValue(batch), TimeSpan.FromSeconds(parse.GetValue(timeout)),
        parse.GetValue(postgres), parse.GetValue(redis), parse.GetValue(silos), parse.GetValue(workflows),
        parse.GetValue(failOncePercent), parse.GetValue(kills), TimeSpan.FromSeconds(parse.GetValue(leasePeriod)), TimeSpan.FromSeconds(parse.GetValue(warmup)),
        parse.GetValue(schedules), parse.GetValue(every), TimeSpan.FromSeconds(parse.GetValue(duration) ?? (parse.GetValue(mode) switch { "ratelimit" => 180, "rest" => 30, _ => 120 })),
        parse.GetValue(pruneRows), parse.GetValue(keys), parse.GetValue(rateLimit), parse.GetValue(window), parse.GetValue(metrics),
        parse.GetValue(ordering)!, parse.GetValue(tenants), parse.GetValue(protection)) { Counts = parse.GetValue(counts) == "on", ScheduleLead = parse.GetValue(scheduleLead) is { } lead ? TimeSpan.FromMilliseconds(lead) : null, Spread = parse.GetValue(spread)!, Trace = parse.GetValue(trace) };
    if (settings.Validate() is { } problem)
    {
        Console.Error.WriteLine($"error: {problem}");
        return 2;
    }
    return settings.Mode switch
    {
        "recovery" => await RecoveryBench.RunAsync(settings, ct),
        "backlog" => await BacklogBench.RunAsync(settings, ct),
        "features" => await FeaturesBench.RunAsync(settings, ct),
        _ => await Bench.RunAsync(settings, ct),
    };
});
return await root.Parse(args).InvokeAsync();
