using System.Data.Common;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Providers;
using Orleans.Serialization;
using Orleans.Storage;
using Scheduler.Storage;

namespace Scheduler.Hosting;

/// <summary>A database the scheduler keeps everything in: what Orleans' providers connect with, and what our job store uses.</summary>
internal interface ISchedulerDatabase
{
    string ConnectionString { get; }

    DbDataSource DataSource { get; }
}

/// <summary>The wiring every relational store shares (SQLite and PostgreSQL differ only in invariant and database).</summary>
internal static class AdoNetSchedulerStorage
{
    /// <summary>
    /// Job store batches of a kind in flight at once on PostgreSQL: two overlap a commit's WAL sync with the next batch;
    /// more split the backlog into smaller batches that cost PostgreSQL more CPU per row (see docs/benchmarks.md).
    /// </summary>
    public const int PostgresConcurrentBatches = 2;

    /// <summary>
    /// Orleans' ADO.NET grain storage (named <see cref="SchedulerStorage.ProviderName"/> and also the default provider,
    /// with the Orleans binary serializer) and reminders on <typeparamref name="TDatabase"/>, and our job store on its
    /// data source, group-committed and scoped by <paramref name="serviceId"/> (the cluster's service id when null).
    /// </summary>
    public static void AddProviders<TDatabase>(IServiceCollection services, string invariant, Func<IServiceProvider, string?> serviceId)
        where TDatabase : class, ISchedulerDatabase
    {
        services.AddAdoNetGrainStorage(SchedulerStorage.ProviderName, ob => ob
            .Configure<TDatabase, Serializer>((options, database, serializer) =>
            {
                options.Invariant = invariant;
                options.ConnectionString = database.ConnectionString;
                // Orleans' binary serializer, not the Newtonsoft JSON default (type names in rows, slower).
                options.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer);
            }));
        // The same provider instance answers to the default name, for grains that do not name a provider.
        services.AddKeyedSingleton<IGrainStorage>(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME,
            (sp, _) => sp.GetRequiredKeyedService<IGrainStorage>(SchedulerStorage.ProviderName));
        services.TryAddSingleton<IGrainStorage>(sp => sp.GetRequiredKeyedService<IGrainStorage>(SchedulerStorage.ProviderName));

        services.UseAdoNetReminderService(ob => ob
            .Configure<TDatabase>((options, database) =>
            {
                options.Invariant = invariant;
                options.ConnectionString = database.ConnectionString;
            }));

        // PostgreSQL overlaps a few batches (its concurrent commits share WAL syncs); SQLite has one writer.
        var postgres = invariant == "Npgsql";
        string ServiceId(IServiceProvider sp) => serviceId(sp) ?? sp.GetRequiredService<IOptions<ClusterOptions>>().Value.ServiceId;
        services.AddSchedulerStore(sp =>
        {
            var dataSource = sp.GetRequiredService<TDatabase>().DataSource;
            return new GroupCommitJobStore(
                postgres ? new PostgresJobStore(dataSource, ServiceId(sp)) : new SqliteJobStore(dataSource, ServiceId(sp)),
                maxConcurrentBatches: postgres ? PostgresConcurrentBatches : 1);
        });
        services.AddSingleton(sp => new LegacyState(sp, sp.GetRequiredService<TDatabase>().DataSource, ServiceId(sp)));
    }
}
