using System.Text;

namespace Scheduler.Cli;

/// <summary>Reading the CLI's JSON definition files (workflows, schedules): errors name the file and its kind.</summary>
internal static class JsonFile
{
    /// <summary>The file's bytes, without a UTF-8 byte order mark; a file that cannot be read is a usage error.</summary>
    public static async Task<byte[]> ReadAsync(string path, string kind, CancellationToken cancellationToken)
    {
        byte[] bytes;
        try
        {
            bytes = await File.ReadAllBytesAsync(path, cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new UsageException($"cannot read {kind} file '{path}': {e.Message}");
        }
        return bytes;
    }

    /// <summary><paramref name="json"/> without a leading UTF-8 byte order mark.</summary>
    public static ReadOnlySpan<byte> WithoutBom(ReadOnlySpan<byte> json) =>
        json.StartsWith(Encoding.UTF8.Preamble) ? json[Encoding.UTF8.Preamble.Length..] : json;
}
