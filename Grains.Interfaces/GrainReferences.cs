namespace Scheduler;

/// <summary>
/// Grain references built from an id alone. Orleans' <c>GetGrain&lt;T&gt;</c> resolves the grain interface on every
/// call (it reads the interface's attributes and formats its type name): 6% of a busy silo's CPU in the workflow
/// benchmark, where every job makes several references. Here each interface is resolved once, by Orleans itself, and
/// later references are made from that grain type and interface type.
/// </summary>
public static class GrainReferences
{
    /// <summary>The reference <c>GetGrain&lt;T&gt;(key)</c> returns, for a grain keyed by a GUID.</summary>
    public static T Reference<T>(this IGrainFactory grains, Guid key) where T : IGrainWithGuidKey =>
        Make<T>(grains, Resolved<T>.Types ??= Resolve(grains.GetGrain<T>(Guid.Empty)), GrainIdKeyExtensions.CreateGuidKey(key));

    /// <summary>The reference <c>GetGrain&lt;T&gt;(key)</c> returns, for a grain keyed by an integer.</summary>
    public static T Reference<T>(this IGrainFactory grains, long key) where T : IGrainWithIntegerKey =>
        Make<T>(grains, Resolved<T>.Types ??= Resolve(grains.GetGrain<T>(0)), GrainIdKeyExtensions.CreateIntegerKey(key));

    /// <summary>The reference <c>GetGrain&lt;T&gt;(key)</c> returns, for a grain keyed by a string.</summary>
    public static T Reference<T>(this IGrainFactory grains, string key) where T : IGrainWithStringKey
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        return Make<T>(grains, Resolved<T>.Types ??= Resolve(grains.GetGrain<T>("-")), IdSpan.Create(key));
    }

    private static T Make<T>(IGrainFactory grains, GrainTypes types, IdSpan key) =>
        (T)grains.GetGrain(GrainId.Create(types.Grain, key), types.Interface);

    private static GrainTypes Resolve(IAddressable sample) =>
        new(sample.GetGrainId().Type, ((GrainReference)sample).InterfaceType);

    // Resolution depends only on the loaded assemblies, so one per interface serves every factory of the process.
    // A reference type, so a racing first use publishes a whole value (both resolve the same).
    private sealed record GrainTypes(GrainType Grain, GrainInterfaceType Interface);

    private static class Resolved<T>
    {
        public static GrainTypes? Types;
    }
}
