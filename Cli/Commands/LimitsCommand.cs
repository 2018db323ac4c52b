using System.CommandLine;
using System.Globalization;

namespace Scheduler.Cli.Commands;

/// <summary><c>limits set|list|show</c>: concurrency and rate limits of keys (docs/flow-control.md).</summary>
internal static class LimitsCommand
{
    public static Command Create(CliContext cli) => new("limits",
        "Concurrency keys and rate limits: set a key's limits at runtime (they win over configuration), list the keys " +
        "with settings, or show one key's holders, waiters and current rate window; show an exclusive scope's barrier.")
    {
        Set(cli),
        List(cli),
        Show(cli),
        Exclusive(cli),
    };

    private static Argument<string> KeyArgument() => new("key") { Description = $"The key, e.g. upload:4711 ({FlowKeys.KeyRule})." };

    private static string ParseKey(string? key) =>
        FlowKeys.IsKey(key) ? key! : throw new UsageException($"key '{key}' is not valid ({FlowKeys.KeyRule})");

    private static Command Set(CliContext cli)
    {
        var key = KeyArgument();
        var limit = new Option<int?>("--limit") { Description = $"Jobs that may hold the key at once, 1 to {FlowKeys.MaxLimit} (1 = a mutex).", HelpName = "N" };
        var rate = new Option<string>("--rate") { Description = "Starts allowed per sliding window, as COUNT/DURATION, e.g. 60/1m (window at least 1 s).", HelpName = "count/duration" };
        var set = new Command("set", "Set a key's concurrency limit, rate limit, or both, across the cluster. Give at least one of --limit and --rate.") { key, limit, rate };

        cli.SetAction(set, (parse, connection, _) =>
        {
            var name = ParseKey(parse.GetValue(key));
            var settings = new KeySettings { Limit = parse.GetValue(limit), Rate = ParseRate(parse.GetValue(rate)) };
            if (FlowKeys.Problem(name, settings) is { } problem)
                throw new UsageException(problem);
            return Task.FromResult<ClientCommand>(async (client, ct) =>
            {
                var status = await client.SetKeyLimitsAsync(name, settings, ct);
                if (connection.Json)
                    Output.WriteJson(cli.Out, status);
                else
                    WriteKey(cli.Out, status);
                return ExitCodes.Ok;
            });
        });
        return set;
    }

    private static RateLimit? ParseRate(string? text)
    {
        if (text is null)
            return null;
        var slash = text.IndexOf('/');
        if (slash <= 0 || !int.TryParse(text[..slash], NumberStyles.None, CultureInfo.InvariantCulture, out var count))
            throw new UsageException($"--rate '{text}' is not COUNT/DURATION, e.g. 60/1m");
        return new RateLimit(count, Duration.ParsePositive("--rate", text[(slash + 1)..]));
    }

    private static Command List(CliContext cli)
    {
        var list = new Command("list", "List the keys with settings (configured or set at runtime): limit, rate, holders and waiters.");
        cli.SetAction(list, (_, connection, _) => Task.FromResult<ClientCommand>(async (client, ct) =>
        {
            var keys = await client.ListKeysAsync(ct);
            if (connection.Json)
            {
                Output.WriteJson(cli.Out, keys);
                return ExitCodes.Ok;
            }
            Output.WriteTable(cli.Out, ["KEY", "LIMIT", "RATE", "HOLDERS", "WAITERS", "SOURCE"],
                [.. keys.Select(k => (IReadOnlyList<string>)
                [
                    k.Key, Limit(k), Rate(k.Settings?.Rate), k.Holders.Length.ToString(CultureInfo.InvariantCulture),
                    k.Waiters.Length.ToString(CultureInfo.InvariantCulture), k.Source,
                ])]);
            return ExitCodes.Ok;
        }));
        return list;
    }

    private static Command Show(CliContext cli)
    {
        var key = KeyArgument();
        var show = new Command("show", "Show a key: its limits, the jobs holding it (with their attempts), the jobs waiting in the order they will start, and its current rate window.") { key };
        cli.SetAction(show, (parse, connection, _) =>
        {
            var name = ParseKey(parse.GetValue(key));
            return Task.FromResult<ClientCommand>(async (client, ct) =>
            {
                var status = await client.GetKeyAsync(name, ct);
                if (connection.Json)
                    Output.WriteJson(cli.Out, status);
                else
                    WriteKey(cli.Out, status);
                return ExitCodes.Ok;
            });
        });
        return show;
    }

    // A command of its own rather than `show cluster`: "cluster" and "queue:x" are valid key names too.
    private static Command Exclusive(CliContext cli)
    {
        var scope = new Argument<string>("scope") { Description = $"The scope: {ExclusiveScopes.ScopeRule}, e.g. queue:maintenance." };
        var show = new Command("exclusive",
            "Show an exclusive scope: its barrier and the exclusive job it is up for, the exclusive jobs waiting behind it, " +
            "the jobs held back until it drops, and how many jobs of the scope each silo last reported running.") { scope };
        cli.SetAction(show, (parse, connection, _) =>
        {
            var name = parse.GetValue(scope);
            if (!ExclusiveScopes.IsScope(name))
                throw new UsageException($"exclusive scope '{name}' does not exist ({ExclusiveScopes.ScopeRule})");
            return Task.FromResult<ClientCommand>(async (client, ct) =>
            {
                var status = await client.GetExclusiveScopeAsync(name!, ct);
                if (connection.Json)
                    Output.WriteJson(cli.Out, status);
                else
                    WriteScope(cli.Out, status);
                return ExitCodes.Ok;
            });
        });
        return show;
    }

    private static void WriteScope(TextWriter writer, ScopeStatus scope)
    {
        writer.WriteLine($"scope:     {scope.Scope}");
        var barrier = scope.Barrier;
        writer.WriteLine(barrier.Holder is { } holder
            ? $"barrier:   {barrier.Id}, up for {holder} ({(scope.HolderRunning ? "running" : barrier.Ready ? "drained, starting" : "draining")})"
            : "barrier:   none (the scope is open)");
        writer.WriteLine($"waiting:   {scope.Waiting.Length}");
        foreach (var waiter in scope.Waiting)
            writer.WriteLine($"  {waiter.Job}  priority {waiter.Priority}  since {Output.Time(waiter.Since)}");
        writer.WriteLine($"held back: {scope.Parked}");
        writer.WriteLine($"silos:     {scope.Silos.Length}");
        foreach (var silo in scope.Silos)
            writer.WriteLine($"  {silo}");
    }

    private static void WriteKey(TextWriter writer, KeyStatus key)
    {
        writer.WriteLine($"key:     {key.Key}");
        writer.WriteLine($"limit:   {Limit(key)}");
        writer.WriteLine($"rate:    {Rate(key.Settings?.Rate)}");
        writer.WriteLine($"source:  {key.Source}");
        if (key.Settings?.Rate is { } rate)
            writer.WriteLine($"window:  {key.RateWindowStarts.Length} of {rate.Count} starts in the last {FlowKeys.Describe(rate.Window)}"
                + (key.NextRateSlotAt is { } next ? $"; next start at {Output.Time(next)}" : ""));
        writer.WriteLine($"holders: {key.Holders.Length}");
        foreach (var holder in key.Holders)
            writer.WriteLine($"  {holder.Job}  attempt {holder.Attempt}  since {Output.Time(holder.Since)}");
        writer.WriteLine($"waiters: {key.Waiters.Length}");
        foreach (var waiter in key.Waiters)
            writer.WriteLine($"  {waiter.Job}  priority {waiter.Priority}  since {Output.Time(waiter.Since)}{(waiter.Woken ? "  (woken)" : "")}");
    }

    private static string Limit(KeyStatus key) => key.Limit?.ToString(CultureInfo.InvariantCulture) ?? "none";

    private static string Rate(RateLimit? rate) => rate is null ? "none" : $"{rate.Count} per {FlowKeys.Describe(rate.Window)}";
}
