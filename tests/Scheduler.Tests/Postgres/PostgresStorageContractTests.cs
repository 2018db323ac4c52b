using Scheduler.Tests.Storage;

namespace Scheduler.Tests.Postgres;

/// <summary>Orleans' ADO.NET grain storage on sql/postgresql: the same scenarios as on SQLite.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresGrainStorageTests(PostgresClusterFixture fixture)
    : OrleansGrainStorageContract(fixture), IClassFixture<PostgresClusterFixture>;

/// <summary>Orleans' ADO.NET reminder table on sql/postgresql: the same scenarios as on SQLite.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresReminderTableTests(PostgresClusterFixture fixture)
    : OrleansReminderTableContract(fixture), IClassFixture<PostgresClusterFixture>;
