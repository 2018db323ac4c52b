using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Scheduler.Client;

namespace Scheduler.Cli.Workflows;

/// <summary>
/// The JSON file of <c>scheduler workflow submit</c> and <c>workflow add</c>: a workflow's settings and its jobs, each a
/// command (<c>"command": ["/bin/sh", "-c", "..."]</c>) or a handler with a payload, and the jobs it depends on
/// (<c>"dependsOn": ["unpack", { "job": "copyright", "policy": "RunAnyway" }]</c>). Unknown properties are refused,
/// so a misspelt setting is not silently ignored.
/// </summary>
internal static partial class WorkflowFile
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        Converters = { new DependencyConverter() },
    };

    /// <summary>Reads a whole workflow; throws <see cref="UsageException"/> naming the file and what is wrong.</summary>
    public static async Task<WorkflowDefinition> ReadDefinitionAsync(string path, CancellationToken cancellationToken) =>
        ToDefinition(path, await ReadAsync(path, cancellationToken));

    /// <summary>A whole workflow from JSON (e.g. the template of a schedule file); errors name <paramref name="path"/>.</summary>
    public static WorkflowDefinition ParseDefinition(string path, ReadOnlySpan<byte> json) => ToDefinition(path, Parse(path, json));

    private static WorkflowDefinition ToDefinition(string path, FileDto file)
    {
        WorkflowFailurePolicy policy = WorkflowFailurePolicy.FailWorkflow;
        if (file.FailurePolicy is { } text && !TryParsePolicy(text, out policy))
            throw new UsageException($"workflow file '{path}': failurePolicy '{text}' is not one of {PolicyNames}");
        return new WorkflowDefinition
        {
            Name = file.Name,
            Tenant = file.Tenant ?? JobRequest.DefaultTenant,
            Priority = file.Priority ?? JobPriority.Default,
            SizeHint = file.SizeHint,
            FailurePolicy = policy,
            Jobs = ToJobs(path, file.Jobs),
        };
    }

    /// <summary>Reads jobs to add to a workflow: a file with only "jobs" (its workflow's settings stay as they are).</summary>
    public static async Task<ImmutableArray<WorkflowJob>> ReadJobsAsync(string path, CancellationToken cancellationToken)
    {
        var file = await ReadAsync(path, cancellationToken);
        if (file.Name is not null || file.Tenant is not null || file.Priority is not null || file.SizeHint is not null || file.FailurePolicy is not null)
            throw new UsageException($"workflow file '{path}': jobs added to a workflow take its settings; give only \"jobs\"");
        return ToJobs(path, file.Jobs);
    }

    private static async Task<FileDto> ReadAsync(string path, CancellationToken cancellationToken) =>
        Parse(path, await JsonFile.ReadAsync(path, "workflow", cancellationToken));

    private static FileDto Parse(string path, ReadOnlySpan<byte> json)
    {
        json = JsonFile.WithoutBom(json);
        if (DescribeSyntax(json) is { } syntaxError)
            throw new UsageException($"workflow file '{path}'{syntaxError}");
        try
        {
            return JsonSerializer.Deserialize<FileDto>(json, Options) ?? throw new UsageException($"workflow file '{path}' holds null, not a workflow");
        }
        catch (JsonException e)
        {
            throw new UsageException($"workflow file '{path}'{DescribeContent(json, e)}");
        }
    }

    private static ImmutableArray<WorkflowJob> ToJobs(string path, List<JobDto?>? jobs)
    {
        if (jobs is null || jobs.Count == 0)
            throw new UsageException($"workflow file '{path}' has no \"jobs\"");
        var result = ImmutableArray.CreateBuilder<WorkflowJob>(jobs.Count);
        for (var i = 0; i < jobs.Count; i++)
        {
            var job = jobs[i] ?? throw new UsageException($"workflow file '{path}': job #{i + 1} is null");
            var where = $"workflow file '{path}', job #{i + 1}" + (job.Name is null ? "" : $" ('{job.Name}')");
            if (string.IsNullOrEmpty(job.Name))
                throw new UsageException($"{where}: \"name\" is missing");
            result.Add(new WorkflowJob
            {
                Name = job.Name,
                Handler = job.Handler ?? CommandJob.HandlerName,
                Payload = Payload(where, job),
                Queue = job.Queue ?? JobRequest.DefaultQueue,
                Limits = new JobLimits
                {
                    MaxAttempts = job.MaxAttempts ?? JobLimits.Default.MaxAttempts,
                    Timeout = job.Timeout is { } timeout ? Duration.ParsePositive($"{where}: timeout", timeout) : null,
                },
                DependsOn = [.. (job.DependsOn ?? []).Select(d => d ?? throw new UsageException($"{where}: a dependency is null"))],
                Concurrency = [.. (job.Keys ?? []).Select(k => k is null
                    ? throw new UsageException($"{where}: a key is null")
                    : Commands.SubmitCommand.ParseKey(k, $"{where}: key '{k}'"))],
                Exclusive = job.Exclusive is { } exclusive ? Commands.SubmitCommand.ParseExclusive(exclusive, $"{where}: \"exclusive\"") : ExclusiveScope.None,
            });
        }
        return result.ToImmutable();
    }

    private static ImmutableArray<byte> Payload(string where, JobDto job)
    {
        var isCommand = job.Command is not null;
        if (isCommand && job.Handler is not null)
            throw new UsageException($"{where}: give either \"command\" or \"handler\", not both");
        if (!isCommand && job.Handler is null)
            throw new UsageException($"{where}: give a \"command\" (executable and arguments) or a \"handler\"");
        if (!isCommand)
        {
            if (job.Env is not null || job.Cwd is not null || job.FatalExitCodes is not null)
                throw new UsageException($"{where}: env, cwd and fatalExitCodes describe a command; with \"handler\" put everything in \"payload\"");
            return job.Payload is { } payload ? ImmutableArray.Create(JsonSerializer.SerializeToUtf8Bytes(payload)) : [];
        }
        if (job.Payload is not null)
            throw new UsageException($"{where}: \"payload\" needs \"handler\"; a command's settings are command, env, cwd and fatalExitCodes");
        if (job.Command!.Count == 0 || string.IsNullOrWhiteSpace(job.Command[0]))
            throw new UsageException($"{where}: \"command\" must start with the executable, e.g. [\"/bin/sh\", \"-c\", \"echo hi\"]");
        if (job.Cwd is { Length: 0 })
            throw new UsageException($"{where}: \"cwd\" must not be empty");
        return SchedulerClientExtensions.ToPayload(new CommandJob
        {
            Executable = job.Command[0],
            Arguments = [.. job.Command.Skip(1)],
            Environment = job.Env ?? [],
            WorkingDirectory = job.Cwd,
            FatalExitCodes = job.FatalExitCodes ?? [],
        });
    }

    public static bool TryParsePolicy(string text, out WorkflowFailurePolicy policy) =>
        Enum.TryParse(text, ignoreCase: true, out policy) && Enum.IsDefined(policy) && !int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out _);

    private static readonly string PolicyNames = string.Join(", ", Enum.GetNames<WorkflowFailurePolicy>());

    private sealed class FileDto
    {
        public string? Name { get; set; }
        public string? Tenant { get; set; }
        public int? Priority { get; set; }
        public long? SizeHint { get; set; }
        public string? FailurePolicy { get; set; }
        public List<JobDto?>? Jobs { get; set; }
    }

    private sealed class JobDto
    {
        public string? Name { get; set; }
        public List<string>? Command { get; set; }
        public Dictionary<string, string>? Env { get; set; }
        public string? Cwd { get; set; }
        public List<int>? FatalExitCodes { get; set; }
        public string? Handler { get; set; }
        public JsonElement? Payload { get; set; }
        public string? Queue { get; set; }
        public int? MaxAttempts { get; set; }
        public string? Timeout { get; set; }
        public List<WorkflowDependency?>? DependsOn { get; set; }
        public List<string?>? Keys { get; set; }
        public string? Exclusive { get; set; }
    }

    /// <summary>A dependency written wrongly, in words meant for the user.</summary>
    private sealed class DependencyException(string message) : JsonException(message);

    /// <summary>A dependency is a job name, or <c>{ "job": "name", "policy": "RunAnyway" }</c>.</summary>
    private sealed class DependencyConverter : JsonConverter<WorkflowDependency>
    {
        public override WorkflowDependency? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType == JsonTokenType.String)
                return new WorkflowDependency(reader.GetString()!);
            if (reader.TokenType != JsonTokenType.StartObject)
                throw new DependencyException("a dependency is a job name or { \"job\": \"name\", \"policy\": \"RunAnyway\" }");
            string? job = null;
            WorkflowFailurePolicy? policy = null;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                var property = reader.GetString();
                reader.Read();
                switch (property?.ToLowerInvariant())
                {
                    case "job":
                        job = reader.TokenType == JsonTokenType.String ? reader.GetString() : throw new DependencyException("a dependency's \"job\" must be a job name");
                        break;
                    case "policy":
                        var text = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                        policy = text is not null && TryParsePolicy(text, out var parsed)
                            ? parsed
                            : throw new DependencyException($"a dependency's \"policy\" must be one of {PolicyNames}");
                        break;
                    default:
                        throw new DependencyException($"a dependency has \"job\" and \"policy\" only, not \"{property}\"");
                }
            }
            return job is null ? throw new DependencyException("a dependency object needs \"job\"") : new WorkflowDependency(job, policy);
        }

        public override void Write(Utf8JsonWriter writer, WorkflowDependency value, JsonSerializerOptions options) =>
            throw new NotSupportedException();
    }
}
