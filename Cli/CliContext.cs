using System.CommandLine;
using Scheduler.Client;

namespace Scheduler.Cli;

/// <summary>What a command runs against once its command line is checked.</summary>
internal delegate Task<int> ClientCommand(ISchedulerClient client, CancellationToken cancellationToken);

/// <summary>Where commands write, what they read from the environment, and how each one runs.</summary>
internal sealed record CliContext(TextWriter Out, TextWriter Error, Func<string, string?> Environment, CommonOptions Common)
{
    /// <summary>
    /// Makes <paramref name="command"/> check its whole command line first (<paramref name="prepare"/> throws
    /// <see cref="UsageException"/>: exit code 2, nothing sent), and only then connect and run what it returned.
    /// </summary>
    public void SetAction(Command command, Func<ParseResult, Connection, CancellationToken, Task<ClientCommand>> prepare)
    {
        command.SetAction(async (parse, cancellationToken) =>
        {
            Connection connection;
            ClientCommand run;
            try
            {
                connection = Common.Read(parse, Environment);
                run = await prepare(parse, connection, cancellationToken);
            }
            catch (UsageException e)
            {
                return Session.Report(Error, ExitCodes.Usage, e.Message);
            }
            return await Session.RunAsync(connection, Error, (client, ct) => run(client, ct), cancellationToken);
        });
    }

    public static JobId ParseId(string? text) =>
        JobId.TryParse(text, out var id)
            ? id
            : throw new UsageException($"'{text}' is not a job id (expected a GUID such as 0191f3c2-7a4e-7c1a-9b1e-2f4c5d6e7f80)");

    public static Argument<string> JobIdArgument() => new("job-id") { Description = "The job's id (a GUID, as printed by submit)." };
}
