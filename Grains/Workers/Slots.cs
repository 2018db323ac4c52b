namespace Scheduler.Workers;

/// <summary>
/// This silo's job slots. The puller takes free slots before it pulls and gives back those a pull did not fill;
/// a runner frees its slot when its job ends. Anything that may let the puller pull again (a freed slot, a shard's
/// new head) calls <see cref="Wake"/>.
/// </summary>
internal sealed class Slots : IDisposable
{
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly TaskCompletionSource _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _free;
    private int _running;
    private int _closed;
    private int _wakePending;

    public Slots(int capacity) => _free = capacity;

    public int Free => Volatile.Read(ref _free);

    public int Running => Volatile.Read(ref _running);

    /// <summary>Takes up to <paramref name="max"/> free slots for a pull. Only the puller takes, so reading then subtracting is safe.</summary>
    public int Take(int max)
    {
        var taken = Math.Min(Free, max);
        Interlocked.Add(ref _free, -taken);
        return taken;
    }

    /// <summary>A pull that took <paramref name="taken"/> slots got <paramref name="filled"/> jobs: those run, the rest are free again.</summary>
    public void Fill(int taken, int filled)
    {
        Interlocked.Add(ref _running, filled);
        Interlocked.Add(ref _free, taken - filled);
    }

    /// <summary>A job has ended (in any way): its slot is free.</summary>
    public void Release()
    {
        Interlocked.Increment(ref _free);
        if (Interlocked.Decrement(ref _running) == 0 && Volatile.Read(ref _closed) == 1)
            _idle.TrySetResult();
        Wake();
    }

    /// <summary>Completes once no job runs any more; call after the puller has stopped, so none can start.</summary>
    public Task WhenIdle()
    {
        Interlocked.Exchange(ref _closed, 1);
        if (Running == 0)
            _idle.TrySetResult();
        return _idle.Task;
    }

    /// <summary>Waits for a wake-up; the caller looks at the slots after it, so a wake-up meanwhile is not lost.</summary>
    public async Task WaitAsync(CancellationToken cancellationToken)
    {
        await _wake.WaitAsync(cancellationToken);
        // A full fence: a plain write could pass the caller's next read of the slots, and a Wake() seeing 1 meanwhile
        // would then be lost.
        Interlocked.Exchange(ref _wakePending, 0);
    }

    public void Wake()
    {
        // Every ended job wakes the puller: one wake-up pending is enough, and the semaphore's lock is left alone
        // while one is (it was contended in bursts).
        if (Interlocked.Exchange(ref _wakePending, 1) != 0)
            return;
        try
        {
            if (_wake.CurrentCount == 0)
                _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // Woken by someone else meanwhile: one wake-up is enough.
        }
    }

    public void Dispose() => _wake.Dispose();
}
