using System.Data;
using System.Data.Common;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace Scheduler.Storage;

/// <summary>
/// State stored before Scheduler's own rows held it: job state before schema version 4, workflow state before
/// version 5, concurrency keys before version 11. It lives in the Orleans grain storage (provider <see cref="SchedulerStorage.ProviderName"/>, table
/// <c>OrleansStorage</c> in the same database) under the state names the grains still use. Grain storage reads it
/// from there only where a grain's own row lacks it; the grain's next write moves it into the row.
/// Registered by the relational profiles only: nothing kept in memory outlives its process.
/// </summary>
public sealed class LegacyState
{
    private readonly IServiceProvider _services;
    private readonly DbDataSource _database;
    private readonly string _serviceId;

    // Asked once (again only after a failure): does the Orleans grain storage hold any workflow (key) at all?
    private Task<bool>? _hasWorkflows;
    private Task<bool>? _hasFlowKeys;

    /// <param name="services">Where the Orleans grain storage provider is found, when a read needs it.</param>
    /// <param name="database">The database holding <c>OrleansStorage</c>.</param>
    /// <param name="serviceId">The service id Orleans scoped its rows by.</param>
    public LegacyState(IServiceProvider services, DbDataSource database, string serviceId)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(database);
        ArgumentException.ThrowIfNullOrEmpty(serviceId);
        _services = services;
        _database = database;
        _serviceId = serviceId;
    }

    /// <summary>
    /// A job whose row was written without its state (before schema version 4): reads the state into
    /// <paramref name="grainState"/>, with the row's version as ETag. False (nothing changed) when there is none.
    /// </summary>
    public Task<bool> ReadJobAsync<T>(GrainId grainId, IGrainState<T> grainState, int rowVersion) =>
        ReadAsync(JobGrainStorage.StateName, grainId, grainState, rowVersion.ToString(CultureInfo.InvariantCulture));

    /// <summary>
    /// A workflow without a row (stored before schema version 5): reads its state into <paramref name="grainState"/>
    /// as version 0, so that its next write creates its row. Whether any such workflow exists is asked once per
    /// silo, so that a new workflow costs no second read.
    /// </summary>
    public async Task<bool> ReadWorkflowAsync<T>(GrainId grainId, IGrainState<T> grainState)
    {
        var probe = _hasWorkflows;
        if (probe is null || probe.IsFaulted || probe.IsCanceled)
            _hasWorkflows = probe = HasStateAsync(WorkflowGrainStorage.StateName);
        return await probe.ConfigureAwait(false)
            && await ReadAsync(WorkflowGrainStorage.StateName, grainId, grainState, "0").ConfigureAwait(false);
    }

    /// <summary>
    /// A concurrency key without a row (stored before schema version 11): reads its state into
    /// <paramref name="grainState"/> as version 0, so that its next write creates its row. Asked once per silo, as for workflows.
    /// </summary>
    public async Task<bool> ReadFlowKeyAsync<T>(GrainId grainId, IGrainState<T> grainState)
    {
        var probe = _hasFlowKeys;
        if (probe is null || probe.IsFaulted || probe.IsCanceled)
            _hasFlowKeys = probe = HasStateAsync(Limits.FlowKeyGrain.StateName);
        return await probe.ConfigureAwait(false)
            && await ReadAsync(Limits.FlowKeyGrain.StateName, grainId, grainState, "0").ConfigureAwait(false);
    }

    /// <summary>Whether <c>OrleansStorage</c> holds any state of the service under <paramref name="stateName"/>.</summary>
    public async Task<bool> HasStateAsync(string stateName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(stateName);
        await using var connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM OrleansStorage WHERE ServiceId = @service_id AND GrainTypeString = @state_name LIMIT 1";
        AddParameter(command, "service_id", _serviceId);
        AddParameter(command, "state_name", stateName);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null;
    }

    private async Task<bool> ReadAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, string etag)
    {
        var orleans = _services.GetKeyedService<IGrainStorage>(SchedulerStorage.ProviderName);
        if (orleans is null)
            return false;
        var old = new GrainState<T>();
        await orleans.ReadStateAsync(stateName, grainId, old).ConfigureAwait(false);
        if (!old.RecordExists)
            return false;
        grainState.State = old.State;
        grainState.ETag = etag;
        grainState.RecordExists = true;
        return true;
    }

    private static void AddParameter(DbCommand command, string name, string value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.DbType = DbType.String;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}
