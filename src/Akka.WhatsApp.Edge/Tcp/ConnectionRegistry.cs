using System.Collections.Concurrent;
using DotNetty.Transport.Channels;

namespace Akka.WhatsApp.Edge.Tcp;

/// <summary>The open channels of one listener, so that stopping it can close them all.</summary>
public sealed class ConnectionRegistry
{
    private readonly ConcurrentDictionary<IChannelId, IChannel> _channels = new();

    public int Count => _channels.Count;

    public void Add(IChannel channel) => _channels[channel.Id] = channel;

    public void Remove(IChannel channel) => _channels.TryRemove(channel.Id, out _);

    public Task CloseAllAsync() => Task.WhenAll(_channels.Values.Select(c => c.CloseAsync()));
}
