using System.CommandLine;

namespace Scheduler.Cli.Commands;

/// <summary><c>webhooks list|show</c>: the delivery records of webhook calls (docs/webhooks.md).</summary>
internal static class WebhooksCommand
{
    public static Command Create(CliContext cli) => new("webhooks",
        "Webhook deliveries: each call of a job's or workflow's webhook, with its attempts, last answer and state.")
    {
        List(cli),
        Show(cli),
    };

    private static Command List(CliContext cli)
    {
        var state = new Option<string>("--state") { Description = "Only pending, delivered or failed deliveries.", HelpName = "state" };
        var subject = new Option<string>("--for") { Description = "Only the deliveries of this job or workflow id.", HelpName = "id" };
        var tenant = new Option<string>("--tenant") { Description = "Only this tenant's deliveries.", HelpName = "name" };
        var limit = new Option<int>("--limit", "-n") { Description = "At most this many, 1 to 1000. Default 50.", DefaultValueFactory = _ => 50 };
        var list = new Command("list", "List webhook deliveries, newest first.") { state, subject, tenant, limit };
        cli.SetAction(list, (parse, connection, _) =>
        {
            WebhookDeliveryState? parsedState = null;
            if (parse.GetValue(state) is { } stateText)
            {
                if (!Enum.TryParse<WebhookDeliveryState>(stateText, ignoreCase: true, out var s) || !Enum.IsDefined(s) || stateText.Any(char.IsAsciiDigit))
                    throw new UsageException($"--state '{stateText}' is not a delivery state: use pending, delivered or failed");
                parsedState = s;
            }
            Guid? subjectId = null;
            if (parse.GetValue(subject) is { } subjectText)
            {
                if (!Guid.TryParse(subjectText, out var id))
                    throw new UsageException($"--for '{subjectText}' is not a job or workflow id (a GUID)");
                subjectId = id;
            }
            var count = parse.GetValue(limit);
            if (count is < 1 or > 1000)
                throw new UsageException($"--limit {count} is out of range: use 1 to 1000");
            var filter = new WebhookDeliveryFilter { State = parsedState, SubjectId = subjectId, Tenant = parse.GetValue(tenant), Limit = count };
            return Task.FromResult<ClientCommand>(async (client, ct) =>
            {
                var rows = await client.ListWebhookDeliveriesAsync(filter, ct);
                if (connection.Json)
                {
                    Output.WriteJson(cli.Out, rows);
                    return ExitCodes.Ok;
                }
                Output.WriteTable(cli.Out, ["ID", "EVENT", "STATE", "ATTEMPTS", "LAST", "URL"],
                    [.. rows.Select(d => (IReadOnlyList<string>)[d.Id, d.Event, Lower(d.State), d.Attempts.ToString(System.Globalization.CultureInfo.InvariantCulture), Last(d), d.Url])]);
                return ExitCodes.Ok;
            });
        });
        return list;
    }

    private static Command Show(CliContext cli)
    {
        var id = new Argument<string>("delivery-id") { Description = "The delivery's id, as webhooks list shows it (also the X-Scheduler-Delivery header)." };
        var show = new Command("show", "Show one webhook delivery.") { id };
        cli.SetAction(show, (parse, connection, _) =>
        {
            var deliveryId = parse.GetValue(id)!;
            return Task.FromResult<ClientCommand>(async (client, ct) =>
            {
                if (await client.GetWebhookDeliveryAsync(deliveryId, ct) is not { } d)
                {
                    cli.Error.WriteLine($"no webhook delivery '{deliveryId}'");
                    return ExitCodes.Failed;
                }
                if (connection.Json)
                {
                    Output.WriteJson(cli.Out, d);
                    return ExitCodes.Ok;
                }
                cli.Out.WriteLine($"delivery   {d.Id}");
                cli.Out.WriteLine($"event      {d.Event} ({d.SubjectKind} {d.SubjectId}, tenant {d.Tenant})");
                cli.Out.WriteLine($"url        {d.Url}");
                cli.Out.WriteLine($"state      {Lower(d.State)}");
                cli.Out.WriteLine($"attempts   {d.Attempts}");
                cli.Out.WriteLine($"last       {Last(d)}");
                cli.Out.WriteLine($"recorded   {Output.Time(d.CreatedAt)}");
                if (d.NextAttemptAt is { } next && d.State == WebhookDeliveryState.Pending)
                    cli.Out.WriteLine($"next       {Output.Time(next)}");
                if (d.FinishedAt is { } finished)
                    cli.Out.WriteLine($"finished   {Output.Time(finished)}");
                return ExitCodes.Ok;
            });
        });
        return show;
    }

    private static string Last(WebhookDelivery d) =>
        d.LastError ?? (d.LastStatusCode is { } code ? $"HTTP {code}" : "-");

    private static string Lower<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();
}
