using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Scheduler.Rest;

/// <summary>The OpenAPI document: ids as GUID strings and payloads as any JSON, as <see cref="ApiJson"/> writes them.</summary>
internal static class OpenApiSetup
{
    public static void Configure(OpenApiOptions options)
    {
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Scheduler REST API";
            document.Info.Description = "Jobs, workflows, schedules, limits and dead letters (docs/rest-api.md). Errors are RFC 7807 problem details.";
            return Task.CompletedTask;
        });
        options.AddSchemaTransformer((schema, context, _) =>
        {
            var type = context.JsonTypeInfo.Type;
            if (type == typeof(JobId) || type == typeof(JobId?) || type == typeof(WorkflowId) || type == typeof(WorkflowId?))
            {
                schema.Type = JsonSchemaType.String;
                schema.Format = "uuid";
                schema.Properties?.Clear();
            }
            return Task.CompletedTask;
        });
    }
}
