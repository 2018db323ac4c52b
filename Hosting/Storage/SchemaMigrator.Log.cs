using Microsoft.Extensions.Logging;

namespace Scheduler.Hosting.Storage;

public sealed partial class SchemaMigrator
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Applying {Vendor} schema script {Version} ({Name})")]
    private static partial void LogApplying(ILogger logger, string vendor, int version, string name);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Migrated {Vendor} schema from version {From} to {To}")]
    private static partial void LogMigrated(ILogger logger, string vendor, int from, int to);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "{Vendor} schema is up to date at version {Version}")]
    private static partial void LogUpToDate(ILogger logger, string vendor, int version);
}
