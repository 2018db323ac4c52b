using System.Data;
using System.Data.Common;
using System.Globalization;

namespace Scheduler.Storage;

// Webhook deliveries (scheduler_webhook_deliveries; sql/<vendor>/0012_webhooks.sql). The same SQL on SQLite and PostgreSQL.
public abstract partial class SqlJobStore : IWebhookStore
{
    private const string DeliveryColumns =
        "delivery_id, subject_kind, subject_id, tenant, event, url, state, attempts, last_status, last_error, created_at, next_attempt_at, finished_at, subject_finished_at";

    public async Task<bool> InsertDeliveryAsync(WebhookDelivery delivery, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            INSERT INTO scheduler_webhook_deliveries (service_id, {DeliveryColumns})
            VALUES (@service_id, @delivery_id, @subject_kind, @subject_id, @tenant, @event, @url, @state, @attempts, @last_status,
                    @last_error, @created_at, @next_attempt_at, @finished_at, @subject_finished_at)
            ON CONFLICT (service_id, delivery_id) DO NOTHING
            """;
        AddDeliveryParameters(command, delivery);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task UpdateDeliveryAsync(WebhookDelivery delivery, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE scheduler_webhook_deliveries
            SET state = @state, attempts = @attempts, last_status = @last_status, last_error = @last_error,
                next_attempt_at = @next_attempt_at, finished_at = @finished_at
            WHERE service_id = @service_id AND delivery_id = @delivery_id
            """;
        AddDeliveryParameters(command, delivery);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<WebhookDelivery?> ReadDeliveryAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {DeliveryColumns} FROM scheduler_webhook_deliveries WHERE service_id = @service_id AND delivery_id = @delivery_id";
        AddParameter(command, "service_id", DbType.String).Value = ServiceId;
        AddParameter(command, "delivery_id", DbType.String).Value = id;
        var rows = await ReadDeliveriesAsync(command, cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task<IReadOnlyList<WebhookDelivery>> ListDeliveriesAsync(WebhookDeliveryFilter filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var limit = CheckLimit(filter.Limit, nameof(filter));
        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        var where = "service_id = @service_id";
        AddParameter(command, "service_id", DbType.String).Value = ServiceId;
        if (filter.State is { } state)
        {
            where += " AND state = @state";
            AddParameter(command, "state", DbType.Int32).Value = (int)state;
        }
        if (filter.SubjectId is { } subject)
        {
            where += " AND subject_id = @subject_id";
            AddParameter(command, "subject_id", DbType.String).Value = subject.ToString("D");
        }
        if (filter.Tenant is { } tenant)
        {
            where += " AND tenant = @tenant";
            AddParameter(command, "tenant", DbType.String).Value = tenant;
        }
        if (filter.Before is { } before)
        {
            where += " AND created_at < @before";
            AddParameter(command, "before", DbType.Int64).Value = before.UtcTicks;
        }
        command.CommandText = $"SELECT {DeliveryColumns} FROM scheduler_webhook_deliveries WHERE {where} ORDER BY created_at DESC, delivery_id LIMIT @limit";
        AddParameter(command, "limit", DbType.Int32).Value = limit;
        return await ReadDeliveriesAsync(command, cancellationToken).ConfigureAwait(false);
    }

    private void AddDeliveryParameters(DbCommand command, WebhookDelivery delivery)
    {
        AddParameter(command, "service_id", DbType.String).Value = ServiceId;
        AddParameter(command, "delivery_id", DbType.String).Value = delivery.Id;
        AddParameter(command, "subject_kind", DbType.String).Value = delivery.SubjectKind;
        AddParameter(command, "subject_id", DbType.String).Value = delivery.SubjectId.ToString("D");
        AddParameter(command, "tenant", DbType.String).Value = delivery.Tenant;
        AddParameter(command, "event", DbType.String).Value = delivery.Event;
        AddParameter(command, "url", DbType.String).Value = delivery.Url;
        AddParameter(command, "state", DbType.Int32).Value = (int)delivery.State;
        AddParameter(command, "attempts", DbType.Int32).Value = delivery.Attempts;
        AddParameter(command, "last_status", DbType.Int32).Value = (object?)delivery.LastStatusCode ?? DBNull.Value;
        AddParameter(command, "last_error", DbType.String).Value = delivery.LastError is null ? DBNull.Value : Clip(delivery.LastError, 2000);
        AddParameter(command, "created_at", DbType.Int64).Value = delivery.CreatedAt.UtcTicks;
        AddParameter(command, "next_attempt_at", DbType.Int64).Value = (object?)delivery.NextAttemptAt?.UtcTicks ?? DBNull.Value;
        AddParameter(command, "finished_at", DbType.Int64).Value = (object?)delivery.FinishedAt?.UtcTicks ?? DBNull.Value;
        AddParameter(command, "subject_finished_at", DbType.Int64).Value = delivery.SubjectFinishedAt.UtcTicks;
    }

    private static async Task<List<WebhookDelivery>> ReadDeliveriesAsync(DbCommand command, CancellationToken cancellationToken)
    {
        var rows = new List<WebhookDelivery>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new WebhookDelivery
            {
                Id = reader.GetString(0),
                SubjectKind = reader.GetString(1),
                SubjectId = Guid.Parse(reader.GetString(2), CultureInfo.InvariantCulture),
                Tenant = reader.GetString(3),
                Event = reader.GetString(4),
                Url = reader.GetString(5),
                State = (WebhookDeliveryState)ReadInt32(reader, 6),
                Attempts = ReadInt32(reader, 7),
                LastStatusCode = reader.IsDBNull(8) ? null : ReadInt32(reader, 8),
                LastError = reader.IsDBNull(9) ? null : reader.GetString(9),
                CreatedAt = FromTicks(reader.GetInt64(10)),
                NextAttemptAt = reader.IsDBNull(11) ? null : FromTicks(reader.GetInt64(11)),
                FinishedAt = reader.IsDBNull(12) ? null : FromTicks(reader.GetInt64(12)),
                SubjectFinishedAt = FromTicks(reader.GetInt64(13)),
            });
        }
        return rows;
    }
}
