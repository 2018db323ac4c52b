// TEMPORARY until the embedded SQLite storage lands; removed on merge.
namespace Scheduler.Silo.Hosting;

public static class EmbeddedStorageStub
{
    public static ISiloBuilder UseEmbeddedSchedulerStorage(this ISiloBuilder silo, string dataDirectory, string serviceId) =>
        throw new NotSupportedException("embedded storage is not wired yet");
}
