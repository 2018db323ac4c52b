namespace Scheduler.Tests.Unit;

public sealed class JobStateTests
{
    public static TheoryData<JobState, JobState> Legal => new()
    {
        { JobState.Queued, JobState.Running },
        { JobState.Queued, JobState.Cancelled },
        { JobState.Running, JobState.Succeeded },
        { JobState.Running, JobState.Failed },
        { JobState.Running, JobState.Queued },
        { JobState.Running, JobState.Cancelled },
        { JobState.Failed, JobState.Queued },
    };

    [Theory]
    [MemberData(nameof(Legal))]
    public void CanMove_IsTrue_ForTheLegalTransitions(JobState from, JobState to) => Assert.True(JobStates.CanMove(from, to));

    [Fact]
    public void CanMove_IsFalse_ForEveryOtherPair()
    {
        var legal = Legal.Select(row => ((JobState)row[0], (JobState)row[1])).ToHashSet();
        foreach (var from in Enum.GetValues<JobState>())
        foreach (var to in Enum.GetValues<JobState>())
        {
            if (!legal.Contains((from, to)))
                Assert.False(JobStates.CanMove(from, to), $"{from} → {to} should be illegal");
        }
    }

    [Fact]
    public void FinalStates_HaveNoWayOut_ButARequeueOfAFailedJob()
    {
        foreach (var final in Enum.GetValues<JobState>().Where(s => s.IsFinal()))
            Assert.All(Enum.GetValues<JobState>(), to => Assert.Equal(final == JobState.Failed && to == JobState.Queued, JobStates.CanMove(final, to)));
        Assert.Equal([JobState.Succeeded, JobState.Failed, JobState.Cancelled], Enum.GetValues<JobState>().Where(s => s.IsFinal()));
    }

    [Fact]
    public void IdempotencyKey_GivesTheSameId_PerTenantAndKey()
    {
        Assert.Equal(JobId.FromIdempotencyKey("t", "k"), JobId.FromIdempotencyKey("t", "k"));
        Assert.NotEqual(JobId.FromIdempotencyKey("t", "k"), JobId.FromIdempotencyKey("u", "k"));
        Assert.NotEqual(JobId.FromIdempotencyKey("t", "k"), JobId.FromIdempotencyKey("t", "k2"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not-a-guid")]
    [InlineData("00000000-0000-0000-0000-000000000000")]
    public void JobIdParse_Refuses_WhatIsNotAJobId(string text)
    {
        Assert.False(JobId.TryParse(text, out _));
        Assert.Throws<FormatException>(() => JobId.Parse(text));
    }
}
