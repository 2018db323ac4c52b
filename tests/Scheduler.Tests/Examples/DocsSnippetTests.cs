using System.Text.RegularExpressions;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.Examples;

/// <summary>
/// Every example marked <c>// docs: name</c> … <c>// docs: end name</c> in this folder is shown, exactly as compiled
/// (indentation aside), in README.md or a page under docs/; so a change to an example fails here until the page follows.
/// </summary>
public sealed partial class DocsSnippetTests
{
    [Fact]
    public void EveryCompiledExample_IsShownAsCompiled_InTheReadmeOrDocs()
    {
        var pages = Directory.GetFiles(Path.Combine(Repository.Root, "docs"), "*.md")
            .Append(Path.Combine(Repository.Root, "README.md"))
            .Select(path => Normalize(File.ReadAllText(path)))
            .ToList();
        var examples = Directory.GetFiles(Path.Combine(Repository.Root, "tests", "Scheduler.Tests", "Examples"), "*.cs")
            .SelectMany(path => Snippets(File.ReadAllText(path)))
            .ToList();

        Assert.NotEmpty(examples);
        var missing = examples.Where(example => !pages.Any(page => page.Contains(example.Code, StringComparison.Ordinal))).Select(e => e.Name).ToList();
        Assert.True(missing.Count == 0, $"examples not shown as compiled in README.md or docs/: {string.Join(", ", missing)}");
    }

    private static IEnumerable<(string Name, string Code)> Snippets(string source)
    {
        foreach (Match match in Marked().Matches(Normalize(source)))
        {
            var lines = match.Groups["code"].Value.Split('\n');
            var indent = lines.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart().Length);
            yield return (match.Groups["name"].Value, string.Join('\n', lines.Select(l => l.Length >= indent ? l[indent..] : l.TrimStart())).Trim('\n'));
        }
    }

    private static string Normalize(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal);

    [GeneratedRegex(@"^[ \t]*// docs: (?<name>[a-z ]+?)\n(?<code>.*?)\n[ \t]*// docs: end \k<name>$", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex Marked();
}
