using System.Text.RegularExpressions;
using Akka.WhatsApp.Host;
using Xunit;
using YamlDotNet.RepresentationModel;

namespace Akka.WhatsApp.Integration.Tests;

/// <summary>
/// deploy/ is written for users' machines (no Docker engine or cluster runs here): its files are parsed, their
/// required keys checked, and every WA_* variable they set must be one the host reads.
/// </summary>
public sealed partial class DeploySpec
{
    private static readonly string Root = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Akka.WhatsApp.sln")))
                return dir.FullName;
        throw new InvalidOperationException("the repository root (Akka.WhatsApp.sln) was not found above the test binaries");
    }

    private static List<YamlMappingNode> Documents(string file)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(Path.Combine(Root, file));
        stream.Load(reader);
        return [.. stream.Documents.Select(d => (YamlMappingNode)d.RootNode)];
    }

    private static readonly YamlScalarNode Merge = new("<<");

    private static YamlNode At(YamlNode node, params string[] path) =>
        path.Aggregate(node, (n, key) => Find((YamlMappingNode)n, key)
            ?? throw new Xunit.Sdk.XunitException($"missing key '{key}' on the way to {string.Join('.', path)}"));

    /// <summary>A key of a mapping, or of the mappings it merges with YAML merge keys (the loader leaves those to us).</summary>
    private static YamlNode? Find(YamlMappingNode mapping, string key) =>
        mapping.Children.TryGetValue(new YamlScalarNode(key), out var own) ? own : Merged(mapping).Select(m => Find(m, key)).FirstOrDefault(n => n is not null);

    private static IEnumerable<YamlMappingNode> Merged(YamlMappingNode mapping) =>
        mapping.Children.TryGetValue(Merge, out var merged)
            ? merged is YamlSequenceNode many ? many.OfType<YamlMappingNode>() : [(YamlMappingNode)merged]
            : [];

    private static IEnumerable<string> Keys(YamlMappingNode mapping) =>
        mapping.Children.Keys.Select(k => ((YamlScalarNode)k).Value!).Where(k => k != "<<").Concat(Merged(mapping).SelectMany(Keys)).Distinct();

    private static string Scalar(YamlNode node, params string[] path) => ((YamlScalarNode)At(node, path)).Value ?? "";

    [Fact]
    public void The_image_runs_as_a_non_root_user_with_a_health_check_and_builds_without_outputs_or_data_in_its_context()
    {
        var lines = File.ReadAllLines(Path.Combine(Root, "deploy/Dockerfile")).Select(l => l.Trim()).ToList();
        var final = lines.Skip(lines.FindLastIndex(l => l.StartsWith("FROM ", StringComparison.Ordinal))).ToList();
        var user = final.LastOrDefault(l => l.StartsWith("USER ", StringComparison.Ordinal));
        Assert.True(user is not null && user != "USER root" && user != "USER 0", "the final stage runs as root");
        Assert.True(final.FindIndex(l => l.StartsWith("USER ", StringComparison.Ordinal)) < final.FindIndex(l => l.StartsWith("ENTRYPOINT", StringComparison.Ordinal)),
            "USER comes after ENTRYPOINT");
        Assert.Contains(final, l => l.StartsWith("HEALTHCHECK", StringComparison.Ordinal) && l.Contains("/health/alive", StringComparison.Ordinal));

        // The context is the repository root (the Dockerfile's header says so): .dockerignore is there.
        var ignored = File.ReadAllLines(Path.Combine(Root, ".dockerignore")).Where(l => l.Length > 0 && !l.StartsWith('#')).ToHashSet();
        foreach (var pattern in new[] { "**/bin/", "**/obj/", "data/", ".git/", "bench/results/" })
            Assert.Contains(pattern, ignored);
    }

    [Fact]
    public void Docker_compose_runs_postgres_minio_and_three_nodes_checked_on_health_ready()
    {
        var compose = Documents("deploy/docker-compose.yml").Single();
        var services = (YamlMappingNode)At(compose, "services");
        var names = services.Children.Keys.Select(k => ((YamlScalarNode)k).Value).ToList();
        Assert.Contains("postgres", names);
        Assert.Contains("minio", names);
        var nodes = names.Where(n => n!.StartsWith("node", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, nodes.Count);
        foreach (var node in nodes)
        {
            // The YAML merge keys (<<) of the file are resolved by the loader: what a node has, it has itself.
            var service = At(services, node!);
            Assert.Contains("/health/ready", string.Join(' ', ((YamlSequenceNode)At(service, "healthcheck", "test")).Select(t => t.ToString())));
            var variables = Keys((YamlMappingNode)At(service, "environment")).Where(k => k.StartsWith("WA_", StringComparison.Ordinal)).ToList();
            Assert.Contains("WA_JOURNAL", variables);
            // Each node finds the others: discovery lists every node service on its remoting port.
            Assert.Contains("WA_DISCOVERY_ENDPOINTS", variables);
            Assert.Equal(nodes.Select(n => $"{n}:4053").Order(), Scalar(service, "environment", "WA_DISCOVERY_ENDPOINTS").Split(',').Order());
            AssertKnown(variables, $"docker-compose.yml service {node}");
        }
    }

    [Fact]
    public void Kubernetes_has_a_stateful_set_with_probes_a_headless_service_and_a_disruption_budget()
    {
        var documents = Documents("deploy/k8s/whatsapp.yaml");
        var kinds = documents.Select(d => Scalar(d, "kind")).ToList();
        Assert.Contains("StatefulSet", kinds);
        Assert.Contains("PodDisruptionBudget", kinds);
        var headless = documents.Single(d => Scalar(d, "kind") == "Service" && At(d, "spec") is YamlMappingNode spec
            && spec.Children.ContainsKey(new YamlScalarNode("clusterIP")) && Scalar(spec, "clusterIP") == "None");

        var set = documents.Single(d => Scalar(d, "kind") == "StatefulSet");
        Assert.Equal(Scalar(headless, "metadata", "name"), Scalar(set, "spec", "serviceName"));
        var container = (YamlMappingNode)((YamlSequenceNode)At(set, "spec", "template", "spec", "containers")).Single();
        Assert.Equal("/health/ready", Scalar(container, "readinessProbe", "httpGet", "path"));
        Assert.Equal("/health/alive", Scalar(container, "livenessProbe", "httpGet", "path"));
        var variables = ((YamlSequenceNode)At(container, "env")).Select(e => Scalar(e, "name")).Where(n => n.StartsWith("WA_", StringComparison.Ordinal)).ToList();
        Assert.Contains("WA_POSTGRES", variables);
        // Discovery names every pod of the set through the headless service, and the pods get the time to drain.
        var endpoints = ((YamlSequenceNode)At(container, "env")).Single(e => Scalar(e, "name") == "WA_DISCOVERY_ENDPOINTS");
        var replicas = int.Parse(Scalar(set, "spec", "replicas"));
        var service = Scalar(headless, "metadata", "name");
        Assert.Equal(Enumerable.Range(0, replicas).Select(i => $"{Scalar(set, "metadata", "name")}-{i}.{service}:4053"),
            Scalar(endpoints, "value").Split(','));
        var drain = int.Parse(Scalar(((YamlSequenceNode)At(container, "env")).Single(e => Scalar(e, "name") == "WA_DRAIN_SECONDS"), "value"));
        Assert.True(int.Parse(Scalar(set, "spec", "template", "spec", "terminationGracePeriodSeconds")) >= drain + 30,
            "terminationGracePeriodSeconds must leave time for the drain and the shard hand-off");
        AssertKnown(variables, "k8s/whatsapp.yaml");
    }

    [Fact]
    public void The_journal_sql_creates_every_table_the_server_uses()
    {
        var sql = File.ReadAllText(Path.Combine(Root, "deploy/sql/journal-postgres.sql"));
        foreach (var table in new[] { "journal", "snapshot", "tags", "wa_phone_directory", "wa_media" })
            Assert.Matches($@"CREATE TABLE public\.{table} \(", sql);
    }

    [Fact]
    public void The_readme_table_of_server_settings_documents_exactly_the_variables_the_host_reads()
    {
        var table = File.ReadAllLines(Path.Combine(Root, "README.md")).Where(l => l.StartsWith("| `WA_", StringComparison.Ordinal));
        var documented = table.SelectMany(l => Variable().Matches(l.Split('|')[1]).Select(m => m.Value)).ToHashSet();
        Assert.True(!HostSettings.Variables.Except(documented).Any(), $"not in the README: {string.Join(", ", HostSettings.Variables.Except(documented))}");
        Assert.True(!documented.Except(HostSettings.Variables).Any(), $"in the README but not read: {string.Join(", ", documented.Except(HostSettings.Variables))}");
    }

    private static void AssertKnown(IEnumerable<string> variables, string where)
    {
        var unknown = variables.Except(HostSettings.Variables).ToList();
        Assert.True(unknown.Count == 0, $"{where} sets {string.Join(", ", unknown)}, which the host does not read");
    }

    [GeneratedRegex(@"\bWA_[A-Z0-9_]+[A-Z]\b")]
    private static partial Regex Variable();
}
