using System.Reflection;
using Microsoft.Extensions.Logging.Abstractions;
using Scheduler.Workers;

namespace Scheduler.Tests.Unit;

/// <summary>When a silo stops one of its running attempts on its own, from what its lease renewals tell it.</summary>
public sealed class AttemptLeaseTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Never = TimeSpan.FromHours(1);

    [Fact]
    public async Task ARefusedRenewal_StopsTheAttempt()
    {
        var grain = JobGrainFake.Create(_ => Task.FromResult(LeaseStatus.Lost));
        using var lease = NewLease(grain, Never);

        lease.Renew();

        await WhenCancelled(lease.Stopped);
        Assert.Equal(AttemptStop.Lost, lease.Reason);
    }

    [Fact]
    public async Task ARefusedRenewal_StopsNothing_OnceTheHandlerHasReturned()
    {
        // A renewal that waited behind the attempt's own outcome report on the grain is refused too.
        var grain = JobGrainFake.Create(_ => Task.FromResult(LeaseStatus.Lost));
        using var lease = NewLease(grain, Never);
        lease.HandlerReturned();

        await RenewAndWaitAsync(lease, grain, renewals: 2);

        Assert.False(lease.Stopped.IsCancellationRequested);
    }

    [Fact]
    public async Task ACancelledJob_SignalsCancelled_AndKeepsItsLease()
    {
        var grain = JobGrainFake.Create(_ => Task.FromResult(LeaseStatus.CancelRequested));
        using var lease = NewLease(grain, Never);

        lease.Renew();

        await WhenCancelled(lease.Stopped);
        Assert.Equal(AttemptStop.Cancelled, lease.Reason);
    }

    [Fact]
    public async Task ThreeFailedRenewalsInARow_StopTheAttempt_ButTwoDoNot()
    {
        var third = new TaskCompletionSource<LeaseStatus>();
        var grain = JobGrainFake.Create(call => call < 3 ? Task.FromException<LeaseStatus>(new TimeoutException()) : third.Task);
        using var lease = NewLease(grain, Never);

        await RenewAndWaitAsync(lease, grain, renewals: 3); // the third starts only once the second has ended
        Assert.False(lease.Stopped.IsCancellationRequested);

        third.SetException(new TimeoutException());
        await WhenCancelled(lease.Stopped);
        Assert.Equal(AttemptStop.Lost, lease.Reason);
    }

    [Fact]
    public async Task ARenewalThatHangs_StopsTheAttempt_AfterTheSelfFencePeriod()
    {
        var hanging = new TaskCompletionSource<LeaseStatus>();
        var grain = JobGrainFake.Create(_ => hanging.Task);
        using var lease = NewLease(grain, selfFenceAfter: TimeSpan.FromMilliseconds(200));

        lease.Renew();

        await WhenCancelled(lease.Stopped);
        Assert.Equal(AttemptStop.Lost, lease.Reason);
    }

    [Fact]
    public void AStopAfterTheLoss_KeepsLostAsTheReason()
    {
        var grain = JobGrainFake.Create(_ => Task.FromResult(LeaseStatus.Renewed));
        using var lease = NewLease(grain, Never);

        lease.Stop(AttemptStop.Lost);
        lease.Stop(AttemptStop.Shutdown);

        Assert.True(lease.Stopped.IsCancellationRequested);
        Assert.Equal(AttemptStop.Lost, lease.Reason);
    }

    [Fact]
    public void ALeaseWhoseHandlerJustReturned_IsLeftOutOfTheNextRenewal_ButNotForLonger()
    {
        // The renewal would reach the grain behind the outcome report, finished: one tick is skipped, not more.
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var interval = TimeSpan.FromSeconds(2);
        var grain = JobGrainFake.Create(_ => Task.FromResult(LeaseStatus.Renewed));
        using var lease = new AttemptLease(grain.Grain, JobId.New(), attempt: 1, time.GetTimestamp(), Never, time, NullLogger.Instance);

        Assert.False(lease.JustReturned(interval));
        lease.HandlerReturned();
        time.Advance(interval - TimeSpan.FromMilliseconds(1));
        Assert.True(lease.JustReturned(interval));
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(lease.JustReturned(interval));
    }

    private static AttemptLease NewLease(JobGrainFake grain, TimeSpan selfFenceAfter) =>
        new(grain.Grain, JobId.New(), attempt: 1, TimeProvider.System.GetTimestamp(), selfFenceAfter, TimeProvider.System, NullLogger.Instance);

    /// <summary>Renews until the grain has seen <paramref name="renewals"/> calls: each starts only once the one before has ended.</summary>
    private static async Task RenewAndWaitAsync(AttemptLease lease, JobGrainFake grain, int renewals)
    {
        using var cts = new CancellationTokenSource(Patience);
        while (grain.Heartbeats < renewals)
        {
            lease.Renew();
            await Task.Delay(10, cts.Token);
        }
    }

    private static Task WhenCancelled(CancellationToken token)
    {
        var fired = new TaskCompletionSource();
        token.Register(() => fired.TrySetResult());
        return fired.Task.WaitAsync(Patience);
    }

    /// <summary>An <see cref="IJobGrain"/> that answers the n-th heartbeat as told; any other call fails.</summary>
    public class JobGrainFake : DispatchProxy
    {
        private Func<int, Task<LeaseStatus>> _heartbeat = null!;
        private int _heartbeats;

        public int Heartbeats => Volatile.Read(ref _heartbeats);

        public static JobGrainFake Create(Func<int, Task<LeaseStatus>> heartbeat)
        {
            var grain = DispatchProxy.Create<IJobGrain, JobGrainFake>();
            var fake = (JobGrainFake)(object)grain;
            fake._heartbeat = heartbeat;
            return fake;
        }

        public IJobGrain Grain => (IJobGrain)(object)this;

        protected override object? Invoke(MethodInfo? method, object?[]? args)
        {
            if (method?.Name != nameof(IJobGrain.Heartbeat))
                throw new NotSupportedException(method?.Name);
            return _heartbeat(Interlocked.Increment(ref _heartbeats));
        }
    }
}
