using System.Collections.Immutable;
using System.CommandLine;
using System.Text;
using System.Text.Json;
using Scheduler.Client;

namespace Scheduler.Cli.Commands;

/// <summary>
/// <c>submit [options] -- &lt;executable&gt; [args...]</c> (a command job), or
/// <c>submit --handler NAME [--payload JSON | --payload-file PATH]</c> (any registered handler).
/// </summary>
internal static class SubmitCommand
{
    public static Command Create(CliContext cli)
    {
        var command = new Argument<string[]>("command")
        {
            Description = "The executable and its arguments, after --. Run directly on a silo, without a shell.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var handler = new Option<string>("--handler") { Description = "Submit to this registered handler instead of running a command.", HelpName = "name" };
        var payload = new Option<string>("--payload") { Description = "The handler's payload, as JSON (with --handler).", HelpName = "json" };
        var payloadFile = new Option<string>("--payload-file") { Description = "Read the handler's JSON payload from this file (with --handler).", HelpName = "path" };
        var priority = new Option<int>("--priority", "-p")
        {
            Description = $"{JobPriority.Min} (least urgent) to {JobPriority.Max} (most urgent); higher runs first.",
            DefaultValueFactory = _ => JobPriority.Default,
        };
        var sizeHint = new Option<long?>("--size-hint") { Description = "How big the job is (0 or more, any unit used consistently): at equal priority, a tenant's smaller jobs start first. Default 0.", HelpName = "size" };
        var queue = new Option<string>("--queue", "-q") { Description = $"Queue to run in. Default '{JobRequest.DefaultQueue}'.", HelpName = "name" };
        var tenant = new Option<string>("--tenant") { Description = $"Submitting user or tenant. Default '{JobRequest.DefaultTenant}'.", HelpName = "name" };
        var maxAttempts = new Option<int?>("--max-attempts") { Description = $"Attempts in all, 1 to {JobLimits.MaxAllowedAttempts} (1 = no retry). Default: the handler's setting, else {JobLimits.DefaultMaxAttempts}." };
        var retryDelay = new Option<string>("--retry-delay")
        {
            Description = $"Wait after the first failed attempt, before jitter: {Duration.Help}, or 0s to retry at once. Default: the handler's, else 1s.",
            HelpName = "duration",
        };
        var retryMultiplier = new Option<double?>("--retry-multiplier")
        {
            Description = $"Each further wait is this many times the one before: {RetryPolicy.MinMultiplier:0.0} to {RetryPolicy.MaxMultiplier:0.0}. Default: the handler's, else 2.",
            HelpName = "factor",
        };
        var retryMaxDelay = new Option<string>("--retry-max-delay")
        {
            Description = $"Longest wait between attempts, before jitter: {Duration.Help}. Default: the handler's, else 5m.",
            HelpName = "duration",
        };
        var retryJitter = new Option<string>("--retry-jitter")
        {
            Description = "Randomise each wait: none, full (0 to the wait) or equal (half to all of it). Default: the handler's, else equal.",
            HelpName = "kind",
        };
        var timeout = new Option<string>("--timeout") { Description = $"Limit per attempt: {Duration.Help}. Default: none.", HelpName = "duration" };
        var idempotencyKey = new Option<string>("--idempotency-key") { Description = "Resubmitting with the same tenant and key returns the existing job.", HelpName = "key" };
        var env = new Option<string[]>("--env", "-e") { Description = "Environment variable for the command, added to the silo's; repeatable.", HelpName = "KEY=VALUE" };
        var cwd = new Option<string>("--cwd") { Description = "Working directory of the command, on the silo.", HelpName = "path" };
        var fatalExitCodes = new Option<int[]>("--fatal-exit-code") { Description = "Exit code that fails the job without retry; repeatable. Other non-zero codes are retried.", HelpName = "code" };
        var keys = new Option<string[]>("--key") { Description = $"Concurrency key the job holds while it runs, as KEY or KEY=LIMIT (default limit 1, a mutex); repeatable, at most {FlowKeys.MaxKeysPerJob}.", HelpName = "key[=limit]" };
        var exclusive = new Option<string>("--exclusive")
        {
            Description = "Run with a scope to itself: queue (no other job of its queue runs meanwhile) or cluster (no other job at all). " +
                "While it waits, no new job in the scope starts.",
            HelpName = "queue|cluster",
        };
        var webhook = new Option<string>("--webhook") { Description = "URL called (a signed JSON POST) when the job ends (docs/webhooks.md).", HelpName = "url" };
        var wait = new Option<bool>("--wait", "-w") { Description = "Wait for the job's final state and print it; exit code 0 only if it succeeded." };
        var waitTimeout = new Option<string>("--wait-timeout") { Description = $"With --wait, give up waiting after this long (exit code 1): {Duration.Help}. Default: no limit.", HelpName = "duration" };
        var at = DueTime.AtOption("the job");
        var inDelay = DueTime.InOption("the job");

        var submit = new Command("submit",
            "Submit a job and print its id.\n" +
            "  scheduler submit [options] -- <executable> [args...]      run a command on a silo (no shell)\n" +
            "  scheduler submit --handler NAME [--payload JSON | --payload-file PATH] [options]")
        {
            command, handler, payload, payloadFile, priority, sizeHint, queue, tenant, maxAttempts, retryDelay, retryMultiplier, retryMaxDelay, retryJitter,
            timeout, idempotencyKey, env, cwd, fatalExitCodes, keys, exclusive, webhook, wait, waitTimeout, at, inDelay,
        };

        cli.SetAction(submit, async (parse, connection, cancellationToken) =>
        {
            var argv = parse.GetValue(command) ?? [];
            var handlerName = parse.GetValue(handler);
            var envPairs = parse.GetValue(env) ?? [];
            var fatal = parse.GetValue(fatalExitCodes) ?? [];
            var workingDirectory = parse.GetValue(cwd);

            string name;
            ImmutableArray<byte> body;
            if (handlerName is not null)
            {
                if (argv.Length > 0)
                    throw new UsageException($"give either --handler or a command after --, not both (got --handler '{handlerName}' and command '{string.Join(' ', argv)}')");
                if (envPairs.Length > 0 || workingDirectory is not null || fatal.Length > 0)
                    throw new UsageException("--env, --cwd and --fatal-exit-code describe a command; with --handler put everything in --payload");
                name = handlerName;
                body = await ReadPayloadAsync(parse.GetValue(payload), parse.GetValue(payloadFile), cancellationToken);
            }
            else
            {
                if (parse.GetValue(payload) is not null || parse.GetValue(payloadFile) is not null)
                    throw new UsageException("--payload and --payload-file need --handler");
                if (argv.Length == 0)
                    throw new UsageException("nothing to run: give a command after --, e.g. scheduler submit -- /bin/echo hello, or use --handler");
                if (string.IsNullOrWhiteSpace(argv[0]))
                    throw new UsageException("the executable must not be empty");
                if (workingDirectory is { Length: 0 })
                    throw new UsageException("--cwd must not be empty");
                name = CommandJob.HandlerName;
                body = SchedulerClientExtensions.ToPayload(new CommandJob
                {
                    Executable = argv[0],
                    Arguments = argv[1..],
                    Environment = ParseEnvironment(envPairs),
                    WorkingDirectory = workingDirectory,
                    FatalExitCodes = fatal,
                });
            }

            var limits = JobLimits.Default;
            if (parse.GetValue(maxAttempts) is { } attempts)
                limits = limits with { MaxAttempts = attempts };
            if (parse.GetValue(timeout) is { } timeoutText)
                limits = limits with { Timeout = Duration.ParsePositive("--timeout", timeoutText) };
            var request = new JobRequest
            {
                Handler = name,
                Payload = body,
                Priority = parse.GetValue(priority),
                SizeHint = parse.GetValue(sizeHint),
                Queue = parse.GetValue(queue) ?? JobRequest.DefaultQueue,
                Tenant = parse.GetValue(tenant) ?? JobRequest.DefaultTenant,
                Limits = limits,
                IdempotencyKey = parse.GetValue(idempotencyKey),
                Retry = ReadRetryPolicy(parse.GetValue(retryDelay), parse.GetValue(retryMultiplier), parse.GetValue(retryMaxDelay), parse.GetValue(retryJitter)),
                NotBefore = DueTime.Read(parse.GetValue(at), parse.GetValue(inDelay), DateTimeOffset.UtcNow),
                Concurrency = [.. (parse.GetValue(keys) ?? []).Select(k => ParseKey(k, $"--key '{k}'"))],
                Exclusive = parse.GetValue(exclusive) is { } scope ? ParseExclusive(scope, "--exclusive") : ExclusiveScope.None,
                Webhook = parse.GetValue(webhook) is { } url ? new WebhookRequest { Url = url } : null,
            };
            if (RequestValidation.Check(request, JobRequest.DefaultMaxPayloadBytes) is { } problem)
                throw new UsageException(problem.Message);

            var waitFor = parse.GetValue(wait);
            var waitText = parse.GetValue(waitTimeout);
            if (waitText is not null && !waitFor)
                throw new UsageException("--wait-timeout needs --wait");
            var waitLimit = waitText is null ? Waiting.Forever : Duration.ParsePositive("--wait-timeout", waitText);

            return async (client, ct) =>
            {
                var result = await client.SubmitAsync(request, ct);
                if (!connection.Json)
                {
                    cli.Out.WriteLine(result.Id);
                    if (result.Outcome == SubmitOutcome.Existing)
                        cli.Error.WriteLine($"note: job {result.Id} already existed (idempotency key); it is {result.State}");
                }
                if (!waitFor)
                {
                    if (connection.Json)
                        Output.WriteJson(cli.Out, result);
                    return ExitCodes.Ok;
                }
                return await Waiting.WaitAndReportAsync(client, result.Id, waitLimit, cli, connection.Json,
                    status => new { result.Id, result.Outcome, Status = status }, ct);
            };
        });
        return submit;
    }

    /// <summary>The job's own retry settings, or null when no --retry-* option is given (the handler's or the defaults apply).</summary>
    private static RetryPolicy? ReadRetryPolicy(string? delay, double? multiplier, string? maxDelay, string? jitter)
    {
        if (delay is null && multiplier is null && maxDelay is null && jitter is null)
            return null;
        RetryJitter? kind = null;
        if (jitter is not null)
        {
            kind = Enum.TryParse<RetryJitter>(jitter, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) && !int.TryParse(jitter, out _)
                ? parsed
                : throw new UsageException($"--retry-jitter '{jitter}' is not one of none, full, equal");
        }
        return new RetryPolicy
        {
            InitialDelay = delay is null ? null : Duration.ParseNonNegative("--retry-delay", delay),
            Multiplier = multiplier,
            MaxDelay = maxDelay is null ? null : Duration.ParseNonNegative("--retry-max-delay", maxDelay),
            Jitter = kind,
        };
    }

    /// <summary>A concurrency key written KEY or KEY=LIMIT (also in workflow files); <paramref name="what"/> names it in the error.</summary>
    internal static ConcurrencyKey ParseKey(string text, string what)
    {
        var equals = text.LastIndexOf('=');
        if (equals < 0)
            return new ConcurrencyKey(text);
        return int.TryParse(text[(equals + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var limit)
            ? new ConcurrencyKey(text[..equals], limit)
            : throw new UsageException($"{what}: the limit after '=' must be a whole number");
    }

    /// <summary>An exclusive scope written none, queue or cluster (also in workflow files).</summary>
    internal static ExclusiveScope ParseExclusive(string text, string what) => text.ToLowerInvariant() switch
    {
        "none" => ExclusiveScope.None,
        "queue" => ExclusiveScope.Queue,
        "cluster" => ExclusiveScope.Cluster,
        _ => throw new UsageException($"{what} '{text}' is not a scope: use queue or cluster (or none)"),
    };

    private static Dictionary<string, string> ParseEnvironment(string[] pairs)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in pairs)
        {
            var equals = pair.IndexOf('=');
            if (equals <= 0)
                throw new UsageException($"--env '{pair}' is not KEY=VALUE with a non-empty KEY");
            var key = pair[..equals];
            if (key.Any(c => char.IsWhiteSpace(c) || c == '\0'))
                throw new UsageException($"--env '{pair}': the name '{key}' must not contain spaces");
            if (!environment.TryAdd(key, pair[(equals + 1)..]))
                throw new UsageException($"--env '{pair}': {key} is given more than once");
        }
        return environment;
    }

    private static ReadOnlySpan<byte> Utf8Bom => [0xEF, 0xBB, 0xBF];

    private static async Task<ImmutableArray<byte>> ReadPayloadAsync(string? inline, string? path, CancellationToken cancellationToken)
    {
        if (inline is not null && path is not null)
            throw new UsageException("give --payload or --payload-file, not both");
        byte[] bytes;
        string source;
        if (path is not null)
        {
            try
            {
                bytes = await File.ReadAllBytesAsync(path, cancellationToken);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                throw new UsageException($"cannot read payload file '{path}': {e.Message}");
            }
            if (bytes.AsSpan().StartsWith(Utf8Bom))
                bytes = bytes[Utf8Bom.Length..];
            source = $"payload file '{path}'";
        }
        else if (inline is not null)
        {
            bytes = Encoding.UTF8.GetBytes(inline);
            source = "--payload";
        }
        else
            return [];

        try
        {
            using var _ = JsonDocument.Parse(bytes);
        }
        catch (JsonException e)
        {
            throw new UsageException($"{source} is not valid JSON: {e.Message}");
        }
        return ImmutableArray.Create(bytes);
    }
}
