using System.Collections;
using System.Reflection;

namespace Akka.WhatsApp.Cluster.Tests;

/// <summary>
/// A structural description of a message for round-trip comparisons: records holding arrays and
/// collections compare by reference, so their full content is written out instead.
/// </summary>
public static class Describe
{
    public static string Of(object? o) => o switch
    {
        null => "null",
        string s => '"' + s + '"',
        byte[] b => Convert.ToHexString(b),
        Akka.Actor.IActorRef actor => "actor " + actor.Path, // a reference survives as its path
        IDictionary d => "{" + string.Join(",", d.Keys.Cast<object>().Select(k => Of(k) + ":" + Of(d[k])).Order()) + "}",
        IEnumerable e when IsSet(o) => "{" + string.Join(",", e.Cast<object>().Select(Of).Order()) + "}",
        IEnumerable e => "[" + string.Join(",", e.Cast<object>().Select(Of)) + "]",
        DateTimeOffset t => t.ToString("O", System.Globalization.CultureInfo.InvariantCulture), // to the tick: a lost millisecond shows
        System.Runtime.CompilerServices.ITuple t => "(" + string.Join(",", Enumerable.Range(0, t.Length).Select(i => Of(t[i]))) + ")",
        _ when o.GetType().IsPrimitive || o is decimal or DateTime or TimeSpan or Guid || o.GetType().IsEnum => o.ToString()!,
        _ => o.GetType().Name + "(" + string.Join(",", o.GetType()
            .GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0 && p.Name != "EqualityContract")
            .OrderBy(p => p.Name)
            .Select(p => p.Name + "=" + Of(p.GetValue(o)))) + ")",
    };

    private static bool IsSet(object o) =>
        o.GetType().GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(ISet<>));
}
