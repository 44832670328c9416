using Akka.WhatsApp.LoadTest.Core;
using Xunit;

namespace Akka.WhatsApp.LoadTest.Tests;

public sealed class CommandLineSpec
{
    [Fact]
    public void Every_scenario_of_the_issue_is_found_by_name()
    {
        foreach (var name in new[] { "one-to-one", "ramp", "group-fanout", "offline-sync", "connections", "typing" })
            Assert.Equal(name, ScenarioCatalog.Find(name)?.Name);
        Assert.Null(ScenarioCatalog.Find("nope"));
    }

    [Fact]
    public void Options_note_what_was_used_and_refuse_bad_values_by_name()
    {
        var args = new ScenarioArgs(new Dictionary<string, string> { ["rate"] = "500, 1000,2000", ["users"] = "12", ["typo"] = "1", ["out"] = "x" });
        Assert.Equal([500.0, 1000, 2000], args.Doubles("rate"));
        Assert.Equal(12, args.Int("users", 200));
        Assert.Equal(5.0, args.Double("warmup", 5));
        Assert.Equal(new Dictionary<string, string> { ["rate"] = "500, 1000,2000", ["users"] = "12", ["warmup"] = "5" }, args.Used);
        Assert.Equal(["typo"], args.Unused(["out"]));

        var bad = new ScenarioArgs(new Dictionary<string, string> { ["users"] = "many", ["rate"] = "1,-2" });
        Assert.Equal("--users must be a int32, not 'many'", Assert.Throws<ArgumentException>(() => bad.Int("users", 1)).Message);
        Assert.Contains("--rate must be one or more positive numbers", Assert.Throws<ArgumentException>(() => bad.Doubles("rate")).Message);
    }

    [Fact]
    public void The_context_spreads_connections_over_servers_and_source_addresses()
    {
        var context = Program.Context(Program.ParseOptions(["--server", "127.0.0.1:1001,127.0.0.1:1002,localhost:1003", "--sources", "2", "--server-pid", "7,8"]));
        Assert.Equal([1001, 1002, 1003, 1001], Enumerable.Range(0, 4).Select(i => context.OptionsFor(i).Port));
        Assert.Equal(["127.0.0.2", "127.0.0.3", "127.0.0.2"], Enumerable.Range(0, 3).Select(i => context.OptionsFor(i).LocalAddress!.ToString()));
        Assert.Equal([7, 8], context.Stats.ServerPids);
        Assert.Throws<ArgumentException>(() => Program.Context(Program.ParseOptions(["--server", "127.0.0.1"])));
        Assert.Throws<ArgumentException>(() => Program.ParseOptions(["--server"]));
    }
}
