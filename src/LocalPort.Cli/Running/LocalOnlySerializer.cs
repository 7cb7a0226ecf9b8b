using Akka.Actor;
using Akka.Serialization;

namespace LocalPort.Cli.Running;

/// <summary>
/// Takes the place of Akka's default JSON serializer in the CLI's own ActorSystem, which is local: no message leaves
/// the process, so none is ever serialized, and Newtonsoft.Json is never loaded (every loaded assembly holds two
/// descriptors for the life of the process). Being asked to serialize is a bug, and it says so.
/// Named in hocon/localport-cli.hocon (akka.actor.serializers.json).
/// </summary>
public sealed class LocalOnlySerializer(ExtendedActorSystem system) : Serializer(system)
{
    /// <summary>What Akka calls when the name has serialization-settings (akka.actor.serialization-settings.json does).</summary>
    public LocalOnlySerializer(ExtendedActorSystem system, Akka.Configuration.Config settings) : this(system) { }

    /// <summary>Unique among the system's serializers (Akka reserves 0-40 for its own; JSON's 1 is not in use here).</summary>
    public override int Identifier => 1001;
    public override bool IncludeManifest => false;

    public override byte[] ToBinary(object obj) =>
        throw new NotSupportedException($"LocalPort's ActorSystem is local; a {obj.GetType().Name} cannot leave it");

    public override object FromBinary(byte[] bytes, Type type) =>
        throw new NotSupportedException($"LocalPort's ActorSystem is local; no {type.Name} can arrive from outside");
}
