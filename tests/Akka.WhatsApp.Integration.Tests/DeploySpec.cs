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
        // The node's defaults keep management on loopback and need no development gateway; the image opens the
        // first for probes and port publishing, and leaves the gateway off.
        Assert.Equal("127.0.0.1", new HostSettings().ManagementHost);
        Assert.Contains(final, l => l.Contains("WA_MANAGEMENT_HOST=0.0.0.0", StringComparison.Ordinal));
        Assert.Contains(final, l => l.Contains("WA_DEV_SMS=off", StringComparison.Ordinal));

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
    public void Docker_compose_publishes_on_loopback_by_default_takes_its_secrets_from_the_env_file_and_pins_its_images()
    {
        var text = File.ReadAllText(Path.Combine(Root, "deploy/docker-compose.yml"));
        var services = (YamlMappingNode)At(Documents("deploy/docker-compose.yml").Single(), "services");
        foreach (var (name, service) in services.Children.Select(c => (((YamlScalarNode)c.Key).Value!, c.Value)))
        {
            var image = Scalar(service, "image");
            Assert.True(image.Contains(':', StringComparison.Ordinal) && !image.EndsWith(":latest", StringComparison.Ordinal), $"{name}: image {image} has no version tag");
            if (Find((YamlMappingNode)service, "ports") is not YamlSequenceNode ports)
                continue;
            foreach (var port in ports.Select(p => ((YamlScalarNode)p).Value!))
            {
                // host-interface:host-port:container-port, the interface loopback or the .env's choice defaulting to loopback.
                var match = PublishedPort().Match(port);
                Assert.True(match.Success, $"{name} publishes {port} on every interface");
                if (match.Groups[2].Value is "8558" or "9001")
                    Assert.True(match.Groups[1].Value == "127.0.0.1", $"{name} publishes its management port {port} beyond loopback");
            }
        }

        // No secret is written in the file: each comes from deploy/.env, and compose refuses to start without it.
        foreach (var secret in new[] { "WA_MANAGEMENT_TOKEN", "WA_S3_SECRET_KEY" })
            Assert.Matches(@"^\$\{[A-Z_]+:\?", Scalar(services.Children.First(c => ((YamlScalarNode)c.Key).Value == "node1").Value, "environment", secret));
        Assert.Matches(@"^\$\{[A-Z_]+:\?", Scalar(services, "postgres", "environment", "POSTGRES_PASSWORD"));
        Assert.Matches(@"^\$\{[A-Z_]+:\?", Scalar(services, "minio", "environment", "MINIO_ROOT_PASSWORD"));
        Assert.Contains("Password=${POSTGRES_PASSWORD:?", Scalar(services, "node1", "environment", "WA_POSTGRES"));

        // Every variable the file substitutes is explained in .env.example, which Git and the image build ignore once filled in.
        var example = File.ReadAllLines(Path.Combine(Root, "deploy/.env.example")).Where(l => l.Contains('=') && !l.StartsWith('#'))
            .Select(l => l[..l.IndexOf('=')]).ToHashSet();
        var used = ComposeVariable().Matches(text).Select(m => m.Groups[1].Value).ToHashSet();
        Assert.True(used.SetEquals(example), $"compose uses {string.Join(", ", used.Order())}; .env.example sets {string.Join(", ", example.Order())}");
        Assert.Contains("deploy/.env", File.ReadAllLines(Path.Combine(Root, ".gitignore")));
        Assert.Contains("deploy/.env", File.ReadAllLines(Path.Combine(Root, ".dockerignore")));
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
        Assert.Equal("true", Scalar(headless, "spec", "publishNotReadyAddresses")); // pods must find each other before they are ready

        var set = documents.Single(d => Scalar(d, "kind") == "StatefulSet");
        Assert.Equal(Scalar(headless, "metadata", "name"), Scalar(set, "spec", "serviceName"));
        var container = Container(set);
        Assert.Equal("/health/ready", Scalar(container, "readinessProbe", "httpGet", "path"));
        Assert.Equal("/health/alive", Scalar(container, "livenessProbe", "httpGet", "path"));
        Assert.Equal("/health/alive", Scalar(container, "startupProbe", "httpGet", "path"));
        var env = (YamlSequenceNode)At(container, "env");
        var variables = env.Select(e => Scalar(e, "name")).Where(n => n.StartsWith("WA_", StringComparison.Ordinal)).ToList();
        Assert.Contains("WA_POSTGRES", variables);
        // Discovery asks DNS for the headless service (every pod, whatever the replica count): nothing to edit when scaling.
        YamlNode Env(string name) => env.Single(e => Scalar(e, "name") == name);
        Assert.Equal($"{Scalar(headless, "metadata", "name")}:4053", Scalar(Env("WA_DISCOVERY_DNS"), "value"));
        Assert.DoesNotContain("WA_DISCOVERY_ENDPOINTS", variables);
        Assert.Equal("status.podIP", Scalar(Env("WA_PUBLIC_HOST"), "valueFrom", "fieldRef", "fieldPath"));
        var drain = int.Parse(Scalar(Env("WA_DRAIN_SECONDS"), "value"));
        Assert.True(int.Parse(Scalar(set, "spec", "template", "spec", "terminationGracePeriodSeconds")) >= drain + 30,
            "terminationGracePeriodSeconds must leave time for the drain and the shard hand-off");
        AssertKnown(variables, "k8s/whatsapp.yaml");
    }

    [Fact]
    public void Kubernetes_runs_a_pinned_image_as_non_root_on_a_read_only_root_in_its_namespace_with_TLS_for_clients()
    {
        var documents = Documents("deploy/k8s/whatsapp.yaml");
        Assert.Equal("Namespace", Scalar(documents[0], "kind"));
        var ns = Scalar(documents[0], "metadata", "name");
        foreach (var document in documents.Skip(1))
            Assert.Equal(ns, Scalar(document, "metadata", "namespace"));

        var set = documents.Single(d => Scalar(d, "kind") == "StatefulSet");
        var container = Container(set);
        var image = Scalar(container, "image");
        Assert.True(image.Contains(':', StringComparison.Ordinal) && !image.EndsWith(":latest", StringComparison.Ordinal), $"image {image} has no release tag");
        Assert.Equal("true", Scalar(set, "spec", "template", "spec", "securityContext", "runAsNonRoot"));
        Assert.Equal("true", Scalar(container, "securityContext", "readOnlyRootFilesystem"));
        Assert.Equal("false", Scalar(container, "securityContext", "allowPrivilegeEscalation"));
        Assert.Contains("ALL", ((YamlSequenceNode)At(container, "securityContext", "capabilities", "drop")).Select(n => n.ToString()));
        // What the node writes lands on its volumes, not on the read-only root.
        var mounts = ((YamlSequenceNode)At(container, "volumeMounts")).Select(m => Scalar(m, "mountPath")).ToList();
        Assert.Contains("/tmp", mounts);
        Assert.Contains(Scalar(((YamlSequenceNode)At(container, "env")).Single(e => Scalar(e, "name") == "WA_DATA_DIR"), "value"), mounts);

        // The edge speaks TLS with the certificate of a kubernetes.io/tls Secret mounted where WA_TLS_CERT/WA_TLS_KEY point.
        var env = ((YamlSequenceNode)At(container, "env")).ToDictionary(e => Scalar(e, "name"), e => e);
        var tlsMount = ((YamlSequenceNode)At(container, "volumeMounts")).Single(m => Scalar(m, "name") == "tls");
        Assert.Equal(Scalar(tlsMount, "mountPath") + "/tls.crt", Scalar(env["WA_TLS_CERT"], "value"));
        Assert.Equal(Scalar(tlsMount, "mountPath") + "/tls.key", Scalar(env["WA_TLS_KEY"], "value"));
        var tlsVolume = ((YamlSequenceNode)At(set, "spec", "template", "spec", "volumes")).Single(v => Scalar(v, "name") == "tls");
        var secrets = Documents("deploy/k8s/secrets.example.yaml");
        var tlsSecret = secrets.Single(d => Scalar(d, "metadata", "name") == Scalar(tlsVolume, "secret", "secretName"));
        Assert.Equal("kubernetes.io/tls", Scalar(tlsSecret, "type"));
    }

    [Fact]
    public void Every_secret_and_key_the_Kubernetes_nodes_read_is_in_the_secrets_template()
    {
        var secrets = Documents("deploy/k8s/secrets.example.yaml")
            .ToDictionary(d => Scalar(d, "metadata", "name"), d => Keys((YamlMappingNode)At(d, "stringData")).ToHashSet());
        var set = Documents("deploy/k8s/whatsapp.yaml").Single(d => Scalar(d, "kind") == "StatefulSet");
        var referenced = ((YamlSequenceNode)At(Container(set), "env"))
            .Where(e => ((YamlMappingNode)e).Children.ContainsKey(new YamlScalarNode("valueFrom")) && Find((YamlMappingNode)At(e, "valueFrom"), "secretKeyRef") is not null)
            .Select(e => (Secret: Scalar(e, "valueFrom", "secretKeyRef", "name"), Key: Scalar(e, "valueFrom", "secretKeyRef", "key")))
            .Concat(((YamlSequenceNode)At(set, "spec", "template", "spec", "volumes"))
                .Where(v => Find((YamlMappingNode)v, "secret") is not null)
                .SelectMany(v => Find((YamlMappingNode)At(v, "secret"), "items") is YamlSequenceNode items
                    ? items.Select(i => (Secret: Scalar(v, "secret", "secretName"), Key: Scalar(i, "key")))
                    : [(Secret: Scalar(v, "secret", "secretName"), Key: "")]))
            .ToList();
        Assert.NotEmpty(referenced);
        foreach (var (secret, key) in referenced)
        {
            Assert.True(secrets.ContainsKey(secret), $"whatsapp.yaml reads the Secret {secret}, which secrets.example.yaml does not ship");
            Assert.True(key == "" || secrets[secret].Contains(key), $"whatsapp.yaml reads {secret}/{key}, which secrets.example.yaml does not have");
        }
        Assert.Contains("deploy/k8s/secrets.yaml", File.ReadAllLines(Path.Combine(Root, ".gitignore")));
    }

    [Fact]
    public async Task Deploy_lints_clean_with_yamllint_dclint_dockerfilelint_and_the_Kubernetes_schemas()
    {
        var prefix = Environment.GetEnvironmentVariable("WA_TEST_LINT_PREFIX");
        Assert.True(!string.IsNullOrEmpty(prefix),
            "WA_TEST_LINT_PREFIX is not set: run ./build.sh test, which installs yamllint, dclint, dockerfilelint and kubernetes-models (scripts/lint-deploy.sh)");
        var (code, output) = await RunAsync("bash", Path.Combine(Root, "scripts/lint-deploy.sh"), prefix!);
        Assert.True(code == 0, $"scripts/lint-deploy.sh exited {code}:\n{output}");
        Assert.Contains("StatefulSet whatsapp valid", output);
        Assert.DoesNotContain("warning", output, StringComparison.OrdinalIgnoreCase);

        // The schema check has teeth: a broken copy (replicas as text, a probe without its handler's port) fails it.
        var broken = Path.Combine(Directory.CreateTempSubdirectory("wa-k8s-").FullName, "broken.yaml");
        await File.WriteAllTextAsync(broken, File.ReadAllText(Path.Combine(Root, "deploy/k8s/whatsapp.yaml")).Replace("replicas: 3", "replicas: three", StringComparison.Ordinal));
        var (brokenCode, brokenOutput) = await RunAsync("node", Path.Combine(Root, "scripts/validate-k8s.js"), prefix!, broken);
        Assert.True(brokenCode == 1 && brokenOutput.Contains("StatefulSet whatsapp:", StringComparison.Ordinal), $"a broken StatefulSet passed: {brokenOutput}");
    }

    private static async Task<(int Code, string Output)> RunAsync(string program, string script, string prefix, params string[] args)
    {
        var start = new System.Diagnostics.ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(script);
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        start.Environment["LINT_PREFIX"] = prefix;
        start.Environment["NODE_PATH"] = Path.Combine(prefix, "node_modules");
        using var process = System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output + await error);
    }

    private static YamlMappingNode Container(YamlNode set) =>
        (YamlMappingNode)((YamlSequenceNode)At(set, "spec", "template", "spec", "containers")).Single();

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

    [GeneratedRegex(@"^(127\.0\.0\.1|\$\{BIND_ADDRESS:-127\.0\.0\.1\}):\d+:(\d+)$")]
    private static partial Regex PublishedPort();

    [GeneratedRegex(@"\$\{([A-Z_]+)[:}]")]
    private static partial Regex ComposeVariable();
}
