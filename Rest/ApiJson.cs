using System.Collections.Immutable;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;

namespace Scheduler.Rest;

/// <summary>
/// The JSON of the REST API: the SDK's own types (web casing, enums as strings, ids as GUID strings), with a job's
/// payload written as plain JSON (what the built-in handlers read) rather than as a list of bytes.
/// </summary>
public static class ApiJson
{
    /// <summary>The options every endpoint reads and writes with.</summary>
    public static JsonSerializerOptions Options { get; } = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    /// <summary>Adds the API's converters to <paramref name="options"/>.</summary>
    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false));
        options.Converters.Add(new JobIdConverter());
        options.Converters.Add(new WorkflowIdConverter());
        options.Converters.Add(new PayloadConverter());
        options.MaxDepth = 32;
        options.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        options.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        return options;
    }

    /// <summary>
    /// Reads the body as <typeparamref name="T"/>; on malformed JSON, a wrong type or a missing required member,
    /// a 400 problem naming where (the body is refused before anything is sent to the cluster).
    /// </summary>
    internal static async Task<(T? Value, IResult? Problem)> ReadAsync<T>(HttpRequest request) where T : class
    {
        if (!request.HasJsonContentType())
            return (null, Problems.BadRequest("send a JSON body with Content-Type: application/json"));
        try
        {
            var value = await request.ReadFromJsonAsync<T>(Options, request.HttpContext.RequestAborted);
            return value is null ? (null, Problems.BadRequest("the body must be a JSON object, not null")) : (value, null);
        }
        catch (JsonException e)
        {
            return (null, Problems.BadRequest($"the body is not valid: {e.Message}"));
        }
        catch (NotSupportedException e)
        {
            return (null, Problems.BadRequest($"the body is not valid: {e.Message}"));
        }
        catch (ArgumentException e)
        {
            return (null, Problems.BadRequest($"the body is not valid: {e.Message}"));
        }
    }

    private sealed class JobIdConverter : JsonConverter<JobId>
    {
        public override JobId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            Guid.TryParse(reader.TokenType == JsonTokenType.String ? reader.GetString() : null, out var id)
                ? new JobId(id)
                : throw new JsonException("a job id is a GUID string");

        public override void Write(Utf8JsonWriter writer, JobId value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToString());
    }

    private sealed class WorkflowIdConverter : JsonConverter<WorkflowId>
    {
        public override WorkflowId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            Guid.TryParse(reader.TokenType == JsonTokenType.String ? reader.GetString() : null, out var id)
                ? new WorkflowId(id)
                : throw new JsonException("a workflow id is a GUID string");

        public override void Write(Utf8JsonWriter writer, WorkflowId value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToString());
    }

    /// <summary>A payload is any JSON value, kept as its UTF-8 text; one that is not JSON is written as a base64 string.</summary>
    private sealed class PayloadConverter : JsonConverter<ImmutableArray<byte>>
    {
        public override ImmutableArray<byte> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            using var document = JsonDocument.ParseValue(ref reader);
            return document.RootElement.ValueKind == JsonValueKind.Null
                ? []
                : [.. Encoding.UTF8.GetBytes(document.RootElement.GetRawText())];
        }

        public override void Write(Utf8JsonWriter writer, ImmutableArray<byte> value, JsonSerializerOptions options)
        {
            if (value.IsDefaultOrEmpty)
            {
                writer.WriteNullValue();
                return;
            }
            var reader = new Utf8JsonReader(value.AsSpan());
            try
            {
                if (JsonDocument.TryParseValue(ref reader, out var document))
                {
                    using (document)
                        document.RootElement.WriteTo(writer);
                    return;
                }
            }
            catch (JsonException)
            {
                // Not JSON: written as base64 below.
            }
            writer.WriteBase64StringValue(value.AsSpan());
        }
    }
}
