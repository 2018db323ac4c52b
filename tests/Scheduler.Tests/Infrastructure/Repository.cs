namespace Scheduler.Tests.Infrastructure;

/// <summary>The clone the tests were built from: its root holds Scheduler.sln, the README and docs/.</summary>
internal static class Repository
{
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Scheduler.sln")))
                return directory.FullName;
        }
        throw new InvalidOperationException($"no Scheduler.sln above {AppContext.BaseDirectory}");
    }
}
