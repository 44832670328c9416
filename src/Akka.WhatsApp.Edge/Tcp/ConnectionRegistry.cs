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

    /// <summary>Writes <paramref name="frame"/> to every open connection (a push: a failed write only means it closed).</summary>
    public void Broadcast(object frame)
    {
        foreach (var channel in _channels.Values)
            _ = channel.WriteAndFlushAsync(frame);
    }

    /// <summary>Closes every connection, after writing <paramref name="last"/> to it when given.</summary>
    public Task CloseAllAsync(object? last = null) => Task.WhenAll(_channels.Values.Select(async c =>
    {
        if (last is not null)
        {
            try
            {
                await c.WriteAndFlushAsync(last);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Already closing: nothing more to tell it.
            }
        }
        await c.CloseAsync();
    }));
}
