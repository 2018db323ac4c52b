using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Scheduler.Storage;

namespace Scheduler.Webhooks;

/// <summary>
/// One webhook delivery. Its row is its state; a reminder registered before the row is written wakes it after a silo
/// died with it pending (the same backstop as a job's retry: no table is polled), and a grain timer wakes it for
/// its next attempt. The HTTP call runs in the <see cref="WebhookSender"/>, off the grain's turn, and comes back as
/// <see cref="Report"/>: the attempt number fences a late report.
/// </summary>
public sealed partial class WebhookGrain(
    IWebhookStore store,
    WebhookSender sender,
    IOptions<SchedulerOptions> options,
    TimeProvider time,
    ILogger<WebhookGrain> logger) : Grain, IWebhookGrain, IRemindable
{
    public const string ReminderName = "deliver";

    private readonly WebhookOptions _options = options.Value.Webhooks;
    private WebhookDelivery? _delivery;
    private bool _loaded;
    private IGrainTimer? _timer;
    private IGrainReminder? _reminder;
    // The attempt handed to the sender and not reported yet, and since when (a report lost on the way is given up
    // after the attempt's timeout and a margin, and the attempt made again).
    private int _inFlight;
    private DateTimeOffset _inFlightSince;

    private string Id => this.GetPrimaryKeyString();

    private async Task<WebhookDelivery?> LoadAsync()
    {
        if (!_loaded)
        {
            _delivery = await store.ReadDeliveryAsync(Id);
            _loaded = true;
        }
        return _delivery;
    }

    public async Task Record(WebhookDelivery delivery)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        if (delivery.Id != Id)
            throw new ArgumentException($"delivery {delivery.Id} recorded on grain {Id}", nameof(delivery));
        if (await LoadAsync() is not null)
            return;
        // The reminder first: a pending row always has its wake-up (a reminder without a row drops itself).
        _reminder = await this.RegisterOrUpdateReminder(ReminderName, ReminderPeriod, ReminderPeriod);
        var pending = delivery with { State = WebhookDeliveryState.Pending, Attempts = 0, NextAttemptAt = delivery.CreatedAt };
        if (!await store.InsertDeliveryAsync(pending))
        {
            _loaded = false;
            await LoadAsync();
            return;
        }
        _delivery = pending;
    }

    public async Task Ready()
    {
        await LoadAsync();
        Dispatch();
    }

    public async Task Report(int attempt, int? statusCode, string? error, bool giveUp)
    {
        if (await LoadAsync() is not { State: WebhookDeliveryState.Pending } delivery || attempt != delivery.Attempts + 1)
            return;
        _inFlight = 0;
        var now = time.GetUtcNow();
        WebhookDelivery next;
        if (error is null)
        {
            next = delivery with { State = WebhookDeliveryState.Delivered, Attempts = attempt, LastStatusCode = statusCode, LastError = null, NextAttemptAt = null, FinishedAt = now };
            LogDelivered(logger, Id, attempt, statusCode);
        }
        else if (giveUp || attempt >= _options.MaxAttempts)
        {
            next = delivery with { State = WebhookDeliveryState.Failed, Attempts = attempt, LastStatusCode = statusCode, LastError = error, NextAttemptAt = null, FinishedAt = now };
            LogGaveUp(logger, Id, attempt, error);
        }
        else
        {
            var due = now + _options.DelayAfter(attempt, Random.Shared.NextDouble());
            next = delivery with { Attempts = attempt, LastStatusCode = statusCode, LastError = error, NextAttemptAt = due };
            LogAttemptFailed(logger, Id, attempt, error, due);
        }
        await store.UpdateDeliveryAsync(next);
        _delivery = next;
        if (next.State == WebhookDeliveryState.Pending)
            Dispatch();
        else
            await DropReminderAsync();
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != ReminderName)
            return;
        if (await LoadAsync() is not { State: WebhookDeliveryState.Pending })
        {
            await DropReminderAsync();
            DeactivateOnIdle();
            return;
        }
        Dispatch();
    }

    /// <summary>Hands the next attempt to the sender when it is due, else arms the timer for it.</summary>
    private void Dispatch()
    {
        if (_delivery is not { State: WebhookDeliveryState.Pending } delivery)
            return;
        var now = time.GetUtcNow();
        if (_inFlight > 0 && now - _inFlightSince < _options.AttemptTimeout + InFlightMargin)
            return;
        if (delivery.NextAttemptAt is { } due && due > now)
        {
            _timer?.Dispose();
            _timer = this.RegisterGrainTimer(static (self, _) => self.OnTimerAsync(), this,
                new GrainTimerCreationOptions { DueTime = due - now, Period = Timeout.InfiniteTimeSpan, KeepAlive = true });
            return;
        }
        _inFlight = delivery.Attempts + 1;
        _inFlightSince = now;
        sender.Send(delivery, _inFlight);
    }

    private Task OnTimerAsync()
    {
        _timer?.Dispose();
        _timer = null;
        Dispatch();
        return Task.CompletedTask;
    }

    private async Task DropReminderAsync()
    {
        try
        {
            if ((_reminder ?? await this.GetReminder(ReminderName)) is { } reminder)
                await this.UnregisterReminder(reminder);
            _reminder = null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Harmless: its next tick finds the delivery finished and tries again.
            LogReminderFailed(logger, e, Id);
        }
    }

    private static readonly TimeSpan InFlightMargin = TimeSpan.FromSeconds(30);

    /// <summary>Orleans' minimum reminder period (1 minute unless configured otherwise), at least a minute.</summary>
    private TimeSpan ReminderPeriod
    {
        get
        {
            var minimum = ServiceProvider.GetService<IOptions<ReminderOptions>>()?.Value.MinimumReminderPeriod ?? TimeSpan.FromMinutes(1);
            return minimum > TimeSpan.FromMinutes(1) ? minimum : TimeSpan.FromMinutes(1);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook delivery {DeliveryId}: delivered on attempt {Attempt} (HTTP {StatusCode})")]
    private static partial void LogDelivered(ILogger logger, string deliveryId, int attempt, int? statusCode);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook delivery {DeliveryId}: attempt {Attempt} failed ({Error}); next attempt at {Due}")]
    private static partial void LogAttemptFailed(ILogger logger, string deliveryId, int attempt, string error, DateTimeOffset due);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook delivery {DeliveryId}: given up after {Attempts} attempts ({Error})")]
    private static partial void LogGaveUp(ILogger logger, string deliveryId, int attempts, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook delivery {DeliveryId}: dropping its reminder failed")]
    private static partial void LogReminderFailed(ILogger logger, Exception exception, string deliveryId);
}
