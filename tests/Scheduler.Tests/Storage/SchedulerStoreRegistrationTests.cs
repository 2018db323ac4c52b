using Microsoft.Extensions.DependencyInjection;
using Scheduler.Hosting;
using Scheduler.Storage;
using Xunit;

namespace Scheduler.Tests.Storage;

public sealed class SchedulerStoreRegistrationTests
{
    [Fact]
    public void AddSchedulerStore_ServesEveryPartFromOneStore_AndKeepsTheFirstStoreRegistered()
    {
        var first = new InMemoryJobStore();
        var services = new ServiceCollection()
            .AddSchedulerStore(_ => first)
            .AddSchedulerStore(_ => new InMemoryJobStore());

        using var provider = services.BuildServiceProvider();

        Assert.Same(first, provider.GetRequiredService<ISchedulerStore>());
        Assert.Same(first, provider.GetRequiredService<IJobStore>());
        Assert.Same(first, provider.GetRequiredService<IJobLogStore>());
        Assert.Same(first, provider.GetRequiredService<IDeadLetterStore>());
        Assert.Same(first, provider.GetRequiredService<IWorkflowStore>());
    }
}
