namespace Akka.WhatsApp.LoadTest.Core;

/// <summary>
/// A load scenario: connects what it needs through the <see cref="LoadContext"/>, drives load step by step and
/// returns what each step measured. To add one, write a class implementing this (with a parameterless
/// constructor) anywhere in this project: the command line finds it by its <see cref="Name"/>.
/// </summary>
public interface IScenario
{
    /// <summary>The name on the command line, e.g. "one-to-one".</summary>
    string Name { get; }

    /// <summary>One line on what it measures, then its options with their defaults.</summary>
    string Usage { get; }

    Task<ScenarioRun> RunAsync(LoadContext context, ScenarioArgs args, CancellationToken cancellationToken);
}

public static class ScenarioCatalog
{
    public static IReadOnlyList<IScenario> All { get; } = typeof(IScenario).Assembly.GetTypes()
        .Where(t => typeof(IScenario).IsAssignableFrom(t) && t is { IsClass: true, IsAbstract: false } && t.GetConstructor(Type.EmptyTypes) is not null)
        .Select(t => (IScenario)Activator.CreateInstance(t)!)
        .OrderBy(s => s.Name, StringComparer.Ordinal)
        .ToList();

    public static IScenario? Find(string name) => All.FirstOrDefault(s => s.Name == name);
}
