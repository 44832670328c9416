namespace Akka.WhatsApp.Domain.Messaging;

/// <summary>
/// Keeps a connection's messages in the order their frames arrived while their checks run concurrently: each
/// send takes a turn when its frame is read, and hands its message to the mailbox only once the send before it
/// has (<see cref="Turn.Previous"/>), then lets the next one go (<see cref="Turn.Done"/>). Only the hand-over is
/// ordered; the checks and the waits for durability still overlap.
/// </summary>
public sealed class SendOrder
{
    private Task _last = Task.CompletedTask;

    /// <summary>Takes the next turn; call in frame order (the connection's reads are sequential).</summary>
    public Turn Next()
    {
        var mine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return new Turn(Interlocked.Exchange(ref _last, mine.Task), mine);
    }

    public readonly record struct Turn(Task Previous, TaskCompletionSource Mine)
    {
        /// <summary>Lets the next send go; idempotent (also called when a send fails its checks).</summary>
        public void Done() => Mine.TrySetResult();
    }
}
