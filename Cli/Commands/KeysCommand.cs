using System.CommandLine;

namespace Scheduler.Cli.Commands;

/// <summary>
/// <c>keys create|list|revoke</c>: API keys of the REST API (docs/rest-api.md). Whoever reaches the Orleans gateway
/// is trusted with the cluster already, so this is how the first key is made.
/// </summary>
internal static class KeysCommand
{
    public static Command Create(CliContext cli) => new("keys",
        "API keys of the REST API: create one with a role (viewer, submitter, operator, admin) and optionally a tenant, " +
        "list them, or revoke one. The token is printed once, at creation; the cluster keeps only its hash.")
    {
        CreateKey(cli),
        List(cli),
        Revoke(cli),
    };

    /// <summary>Who the audit log names for a key created or revoked from this command line.</summary>
    private static string Actor => $"cli:{Environment.UserName}@{Environment.MachineName}";

    private static Command CreateKey(CliContext cli)
    {
        var name = new Argument<string>("name") { Description = $"A label for people, e.g. php-frontend ({RequestValidation.NameRule})." };
        var role = new Option<string>("--role") { Description = "viewer, submitter, operator or admin.", Required = true, HelpName = "role" };
        var tenant = new Option<string?>("--tenant") { Description = "Scope the key to one tenant: it sees and controls only that tenant's jobs and workflows.", HelpName = "tenant" };
        var create = new Command("create", "Create an API key and print its token (shown only now).") { name, role, tenant };

        cli.SetAction(create, (parse, connection, _) =>
        {
            var roleText = parse.GetValue(role);
            if (!Enum.TryParse<ApiRole>(roleText, ignoreCase: true, out var parsedRole) || !Enum.IsDefined(parsedRole) || roleText!.Any(char.IsAsciiDigit))
                throw new UsageException($"--role '{roleText}' is not a role: use viewer, submitter, operator or admin");
            var request = new ApiKeyRequest { Name = parse.GetValue(name)!, Role = parsedRole, Tenant = parse.GetValue(tenant) };
            if (request.Problem() is { } problem)
                throw new UsageException(problem);
            return Task.FromResult<ClientCommand>(async (client, ct) =>
            {
                var created = await client.CreateApiKeyAsync(request, Actor, ct);
                if (connection.Json)
                {
                    Output.WriteJson(cli.Out, created);
                    return ExitCodes.Ok;
                }
                cli.Out.WriteLine($"key {created.Key.Id} ({created.Key.Name}): role {Lower(created.Key.Role)}, tenant {created.Key.Tenant ?? "all"}");
                cli.Out.WriteLine($"token (shown only now): {created.Token}");
                return ExitCodes.Ok;
            });
        });
        return create;
    }

    private static Command List(CliContext cli)
    {
        var list = new Command("list", "List the API keys, revoked ones included (never their tokens).");
        cli.SetAction(list, (_, connection, _) => Task.FromResult<ClientCommand>(async (client, ct) =>
        {
            var keys = await client.ListApiKeysAsync(ct);
            if (connection.Json)
            {
                Output.WriteJson(cli.Out, keys);
                return ExitCodes.Ok;
            }
            Output.WriteTable(cli.Out, ["ID", "NAME", "ROLE", "TENANT", "CREATED", "REVOKED"],
                [.. keys.Select(k => (IReadOnlyList<string>)
                    [k.Id, k.Name, Lower(k.Role), k.Tenant ?? "all", Output.Time(k.CreatedAt), k.RevokedAt is { } r ? Output.Time(r) : "-"])]);
            return ExitCodes.Ok;
        }));
        return list;
    }

    private static Command Revoke(CliContext cli)
    {
        var id = new Argument<string>("key-id") { Description = "The key's id, as keys list shows it." };
        var revoke = new Command("revoke", "Revoke an API key: REST hosts refuse it within their key cache time (10 s by default).") { id };
        cli.SetAction(revoke, (parse, _, _) =>
        {
            var keyId = parse.GetValue(id)!;
            if (ApiKeyTokens.IdOf($"{ApiKeyTokens.Prefix}{keyId}_xxxxxxxxxxxxxxxxxxxx") is null)
                throw new UsageException($"'{keyId}' is not an API key id (12 lower-case hex characters, as keys list shows)");
            return Task.FromResult<ClientCommand>(async (client, ct) =>
            {
                if (!await client.RevokeApiKeyAsync(keyId, Actor, ct))
                    throw new CommandFailedException($"no valid key {keyId}");
                cli.Out.WriteLine($"revoked key {keyId}");
                return ExitCodes.Ok;
            });
        });
        return revoke;
    }

    private static string Lower(ApiRole role) => role.ToString().ToLowerInvariant();
}
