using Akka.WhatsApp.Domain.Mailbox;

namespace Akka.WhatsApp.Domain.Messaging;

/// <summary>
/// Who may change a message once sent (PROTOCOL.md §8.6): only its sender, an edit within 15 minutes, a delete for
/// everyone within 48 hours. The same rule for a 1:1 mailbox and a group, which both remember their recent messages.
/// </summary>
public static class MessageChanges
{
    public static readonly TimeSpan EditWindow = TimeSpan.FromMinutes(15);
    public static readonly TimeSpan DeleteForEveryoneWindow = TimeSpan.FromHours(48);

    /// <summary>True for the kinds that change an earlier message (and so are checked here).</summary>
    public static bool Changes(int kind) => kind is ContentKinds.Edit or ContentKinds.DeleteForEveryone;

    /// <summary>
    /// Null when <paramref name="by"/> may apply a change of <paramref name="kind"/> now to a message sent by
    /// <paramref name="targetFrom"/> at <paramref name="targetAt"/> (both null when the target is not remembered);
    /// otherwise why not.
    /// </summary>
    public static string? Refusal(int kind, UserId by, UserId? targetFrom, DateTimeOffset? targetAt, DateTimeOffset now)
    {
        var window = kind == ContentKinds.Edit ? EditWindow : DeleteForEveryoneWindow;
        return targetFrom == by && targetAt is { } at && now - at <= window
            ? null
            : $"only the sender can change a message, within {(window.TotalHours >= 1 ? $"{window.TotalHours:0} hours" : $"{window.TotalMinutes:0} minutes")}";
    }
}
