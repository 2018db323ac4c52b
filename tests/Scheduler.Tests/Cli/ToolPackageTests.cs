using System.Reflection;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.Cli;

/// <summary>
/// The CLI installs as the README says: packed as a .NET tool and installed with <c>dotnet tool update</c>, which
/// installs the first time and replaces the copy the second time; the installed <c>scheduler</c> command runs.
/// </summary>
public sealed class ToolPackageTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task PackedTool_InstallsTwice_AndRunsAsScheduler()
    {
        var root = Repository.Root;
        var work = Directory.CreateTempSubdirectory("scheduler-tool-");
        try
        {
            // The test run has built the CLI already, in the test's own configuration; pack that build.
            var configuration = typeof(ToolPackageTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";
            var packages = Path.Combine(work.FullName, "packages");
            var tools = Path.Combine(work.FullName, "tools");
            string[] install = ["tool", "update", "--tool-path", tools, "--add-source", packages, "--ignore-failed-sources", "Scheduler.Cli"];

            await ServerProcess.RunAsync("dotnet", ["pack", Path.Combine(root, "Cli"), "-c", configuration, "--no-build", "-o", packages], root, Bound);
            var first = await ServerProcess.RunAsync("dotnet", install, work.FullName, Bound);
            Assert.Contains("successfully installed", first, StringComparison.OrdinalIgnoreCase);
            var second = await ServerProcess.RunAsync("dotnet", install, work.FullName, Bound);
            Assert.DoesNotContain("error", second, StringComparison.OrdinalIgnoreCase);

            var help = await ServerProcess.RunAsync(Path.Combine(tools, "scheduler"), ["--help"], work.FullName, Bound);
            Assert.Contains("Submit, inspect and cancel jobs and workflows", help);
            Assert.Contains("workflow", help);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }
}
