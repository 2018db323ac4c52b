using Orleans.Serialization;

namespace Scheduler.Jobs;

/// <summary>
/// Lets the runtime name our control targets in a silo-to-silo message: the management grain's broadcast carries the
/// target's type (<c>SendControlCommandToProvider&lt;T&gt;</c>), and Orleans refuses to serialize a type it was not told
/// about. Without it the broadcast worked only while every silo it reached was the caller's own.
/// </summary>
internal sealed class ControllableTypeFilter : ITypeFilter, ITypeNameFilter
{
    private static readonly Type[] Allowed = [typeof(RunningJobsControllable), typeof(Workers.SlotsControllable)];

    public bool? IsTypeAllowed(Type type) => Array.IndexOf(Allowed, type) >= 0 ? true : null;

    public bool? IsTypeNameAllowed(string typeName, string assemblyName)
    {
        foreach (var type in Allowed)
        {
            if (type.FullName == typeName && type.Assembly.GetName().Name == assemblyName)
                return true;
        }
        return null;
    }
}
