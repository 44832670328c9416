using Akka.WhatsApp.Edge.Tcp;
using Xunit;

namespace Akka.WhatsApp.Edge.Tests;

/// <summary>Which socket failures are the network's (logged at debug) and which are ours (logged as defects).</summary>
public sealed class SocketFailureSpec
{
    [Theory]
    [InlineData(System.Net.Sockets.SocketError.ConnectionReset)]
    [InlineData(System.Net.Sockets.SocketError.ConnectionAborted)]
    [InlineData(System.Net.Sockets.SocketError.TimedOut)]
    public void A_peer_that_went_away_is_routine_however_it_is_wrapped(System.Net.Sockets.SocketError error)
    {
        var socket = new System.Net.Sockets.SocketException((int)error);
        Assert.True(SessionHandler.IsPeerGone(socket));
        Assert.True(SessionHandler.IsPeerGone(new IOException("read failed", socket)));
        Assert.True(SessionHandler.IsPeerGone(new AggregateException(new IOException("write failed", socket))));
        Assert.True(SessionHandler.IsPeerGone(new DotNetty.Transport.Channels.ClosedChannelException()));
    }

    [Fact]
    public void A_failure_of_our_own_code_is_not_taken_for_the_network()
    {
        Assert.False(SessionHandler.IsPeerGone(new NullReferenceException()));
        Assert.False(SessionHandler.IsPeerGone(new InvalidOperationException("bug")));
        Assert.False(SessionHandler.IsPeerGone(new IOException("wrapped bug", new InvalidCastException())));
        Assert.False(SessionHandler.IsPeerGone(new AggregateException(new InvalidOperationException(), new IOException())));
    }
}
