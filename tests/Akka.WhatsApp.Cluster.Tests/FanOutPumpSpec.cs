using Akka.WhatsApp.Cluster.Entities;
using Xunit;

namespace Akka.WhatsApp.Cluster.Tests;

/// <summary>The fan-out bookkeeping the groups and the statuses share: the bound, one send per recipient, retries.</summary>
public sealed class FanOutPumpSpec
{
    [Fact]
    public void At_most_the_bound_is_in_flight_never_twice_for_one_recipient_and_a_failed_one_waits_for_the_retry()
    {
        var pump = new FanOutPump<string>(parallelism: 2);
        var started = new List<string>();
        foreach (var key in new[] { "a", "b", "c", "a" })
            pump.Ready(key);
        pump.Pump(key => { started.Add(key); return true; });
        Assert.Equal(["a", "b"], started);
        Assert.Equal(2, pump.InFlight);

        pump.Ready("a"); // in flight: not lined up again
        Assert.True(pump.Completed("a", ok: false)); // the first failure: the caller starts its retry timer
        pump.Pump(key => { started.Add(key); return true; });
        Assert.Equal(["a", "b", "c"], started);
        Assert.False(pump.Completed("b", ok: false)); // a second failure while one waits: the timer runs already

        Assert.False(pump.Completed("c", ok: true));
        Assert.Equal(0, pump.InFlight);
        pump.RetryFailed();
        var retried = new List<string>();
        pump.Pump(key => { retried.Add(key); return key != "b"; }); // b had nothing to send after all: not in flight
        Assert.Equal(["a", "b"], retried.Order());
        Assert.Equal(1, pump.InFlight);
    }
}
