using Scheduler.Tests.Infrastructure;
using Scheduler.Tests.Storage;
using StackExchange.Redis;

namespace Scheduler.Tests.Postgres;

/// <summary>Starts the test process's redis-server once for the <see cref="RedisCollection"/>.</summary>
public sealed class RedisServerFixture : IAsyncLifetime
{
    public RedisServer Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        using var cts = Bounded.Timeout(60);
        Server = await RedisServer.StartAsync(cts.Token).WaitAsync(cts.Token);
    }

    public async Task DisposeAsync()
    {
        if (Server is not null)
            await Server.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class RedisCollection : ICollectionFixture<RedisServerFixture>
{
    public const string Name = "Redis server";
}

[Collection(RedisCollection.Name)]
public sealed class RedisServerTests(RedisServerFixture fixture)
{
    [Fact]
    public async Task Ping_IsAnswered_WhenServerRunsOnLoopback()
    {
        using var cts = Bounded.Timeout();
        await using var redis = await ConnectionMultiplexer.ConnectAsync(fixture.Server.ConnectionString).WaitAsync(cts.Token);

        var latency = await redis.GetDatabase().PingAsync().WaitAsync(cts.Token);

        Assert.True(latency < TimeSpan.FromSeconds(5));
        Assert.StartsWith("127.0.0.1:", fixture.Server.ConnectionString, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Values_AreNotPersisted_WhenServerRunsWithoutSaveOrAppendOnly()
    {
        using var cts = Bounded.Timeout();
        await using var redis = await ConnectionMultiplexer.ConnectAsync(fixture.Server.ConnectionString + ",allowAdmin=true").WaitAsync(cts.Token);
        var server = redis.GetServer(redis.GetEndPoints()[0]);

        var save = await server.ConfigGetAsync("save").WaitAsync(cts.Token);
        var appendOnly = await server.ConfigGetAsync("appendonly").WaitAsync(cts.Token);
        var bind = await server.ConfigGetAsync("bind").WaitAsync(cts.Token);

        Assert.Equal("", Assert.Single(save).Value);
        Assert.Equal("no", Assert.Single(appendOnly).Value);
        Assert.Equal("127.0.0.1", Assert.Single(bind).Value);
    }
}
