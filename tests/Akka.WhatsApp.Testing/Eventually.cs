namespace Akka.WhatsApp.Testing;

/// <summary>
/// The suite's one way to wait for a condition that becomes true by itself (a disconnect recorded, a node joined):
/// it checks again until the deadline and then fails, saying what it waited for and what it saw last. Never a fixed
/// delay, never a silent carry-on at the deadline.
/// </summary>
public static class Eventually
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Waits until <paramref name="condition"/> holds; <paramref name="what"/> names it in the failure, and
    /// <paramref name="seen"/> (when given) says what the last check saw.
    /// </summary>
    public static async Task Until(Func<Task<bool>> condition, TimeSpan timeout, string what, Func<string>? seen = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        Exception? last = null;
        while (true)
        {
            try
            {
                if (await condition())
                    return;
                last = null;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                last = e; // e.g. a server not listening yet: try again until the deadline
            }
            if (DateTime.UtcNow >= deadline)
                throw new TimeoutException($"waited {timeout.TotalSeconds:0.#} s for {what}" + (last is null ? "" : $"; last attempt failed: {last.Message}")
                                           + (seen is null ? "" : $"; last seen: {seen()}"), last);
            await Task.Delay(Poll);
        }
    }

    public static Task Until(Func<bool> condition, TimeSpan timeout, string what, Func<string>? seen = null) =>
        Until(() => Task.FromResult(condition()), timeout, what, seen);

    /// <summary>Waits until <paramref name="read"/> returns a value that <paramref name="accept"/> takes, and returns it.</summary>
    public static async Task<T> Until<T>(Func<Task<T>> read, Func<T, bool> accept, TimeSpan timeout, string what)
    {
        T value = default!;
        try
        {
            await Until(async () => accept(value = await read()), timeout, what);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}; last value: {value}", e.InnerException);
        }
        return value;
    }
}
