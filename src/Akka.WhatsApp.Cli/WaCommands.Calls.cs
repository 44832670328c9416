using System.CommandLine;
using Akka.WhatsApp.Client;
using Akka.WhatsApp.Client.Calls;
using Akka.WhatsApp.Client.Storage;
using Akka.WhatsApp.Protocol;

namespace Akka.WhatsApp.Cli;

/// <summary>
/// `wa call` and `wa calls`: call signalling from the command line. The CLI has no media, so its session descriptions are
/// placeholders; what it shows is how a call goes (calling, ringing, connected, ended and why).
/// </summary>
public static partial class WaCommands
{
    private static readonly byte[] PlaceholderOffer = "v=0 placeholder offer"u8.ToArray();
    private static readonly byte[] PlaceholderAnswer = "v=0 placeholder answer"u8.ToArray();

    /// <summary>How long `wa call --group` waits for someone to join before it leaves (the server only stops the others' ringing).</summary>
    private static readonly TimeSpan GroupRingWait = TimeSpan.FromSeconds(60);

    private static Command CallCommand(Option<string> profileOption, Option<string?> serverOption, TextWriter output)
    {
        var toArgument = new Argument<string?>("user") { Description = "a user id, or the phone number (+...) of a registered contact", Arity = ArgumentArity.ZeroOrOne };
        var groupOption = new Option<string?>("--group") { Description = "call this group (its id) instead: its members' devices ring" };
        var videoOption = new Option<bool>("--video") { Description = "a video call (default: voice)" };
        var secondsOption = new Option<int>("--seconds")
        {
            Description = "hang up this many seconds after the call connects (0 = when the other side does, or on Ctrl-C)", DefaultValueFactory = _ => 0,
        };
        var command = new Command("call", "call a user or a group and print how the call goes (signalling only: the CLI sends no media)") { toArgument };
        foreach (var option in new Option[] { groupOption, videoOption, secondsOption })
            command.Options.Add(option);
        command.SetAction(async (p, ct) =>
        {
            var (user, group, seconds) = (p.GetValue(toArgument), p.GetValue(groupOption), p.GetValue(secondsOption));
            if ((user is null) == (group is null))
                throw new CliException("say whom to call: a user (or a contact's phone number), or --group <group id>");
            if (group is not null && !ChatOfId(group).IsGroup)
                throw new CliException($"--group takes a group id (32 hex characters), not '{group}'");
            if (seconds < 0)
                throw new CliException("--seconds is 0 or more");
            var media = p.GetValue(videoOption) ? CallMedia.Video : CallMedia.Audio;
            await using var device = await CallDeviceAsync(p, profileOption, serverOption, ct);
            var call = group is not null
                ? await device.Client.StartGroupCallAsync(group, media, PlaceholderOffer, cancellationToken: ct)
                : await device.Client.StartCallAsync(await UserOfAsync(device.Client, user!, ct), media, PlaceholderOffer, cancellationToken: ct);
            var connected = await FollowCallAsync(device, call, seconds, output, ct);
            await TellUnshownAsync(device, output, CancellationToken.None);
            return connected ? 0 : 1;
        });
        return command;
    }

    private static Command CallsCommand(Option<string> profileOption, Option<string?> serverOption, TextWriter output)
    {
        var answerOption = new Option<bool>("--answer") { Description = "take every call that rings here (group calls are joined)" };
        var rejectOption = new Option<bool>("--reject") { Description = "decline every call that rings here" };
        var secondsOption = new Option<int>("--seconds")
        {
            Description = "stop after this many seconds, hanging up a call still going on (0 = until Ctrl-C)", DefaultValueFactory = _ => 0,
        };
        var command = new Command("calls", "wait for calls to this device and print how they go; --answer or --reject them");
        foreach (var option in new Option[] { answerOption, rejectOption, secondsOption })
            command.Options.Add(option);
        command.SetAction(async (p, ct) =>
        {
            var (answer, reject) = (p.GetValue(answerOption), p.GetValue(rejectOption));
            if (answer && reject)
                throw new CliException("--answer or --reject, not both");
            await using var device = await CallDeviceAsync(p, profileOption, serverOption, ct);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            if (p.GetValue(secondsOption) is > 0 and var seconds)
                stop.CancelAfter(TimeSpan.FromSeconds(seconds));
            output.WriteLine($"waiting for calls to {device.Profile.UserId}; Ctrl-C to stop");
            try
            {
                await foreach (var e in device.Client.Events.ReadAllAsync(stop.Token))
                    await OnCallEventAsync(device, e, answer, reject, output);
            }
            catch (OperationCanceledException)
            {
            }
            foreach (var call in device.Client.ActiveCalls.Where(c => c.State is CallState.Connected or CallState.Outgoing && !c.OnOtherDevice))
                await EndAsync(device.Client, call);
            while (device.Client.Events.TryRead(out var e))
                if (e is CallChanged { Call: var changed })
                    output.WriteLine(CallNotice(changed));
            return 0;
        });
        return command;
    }

    /// <summary>Calls need the pushes of the device's own connection, which a running `wa listen` holds and does not relay.</summary>
    private static async Task<DeviceSession> CallDeviceAsync(ParseResult p, Option<string> profileOption, Option<string?> serverOption, CancellationToken ct)
    {
        var (folder, profile, options) = Open(p, profileOption, serverOption);
        if (LocalRelay.Find(folder) is not null)
            throw new CliException("a running `wa listen` or `wa chat` holds this profile's connection, which calls need: stop it first (it shows incoming calls meanwhile)");
        return await DeviceSession.OpenAsync(folder, profile, options, holds: true, ct);
    }

    /// <summary>
    /// Prints each change of <paramref name="call"/> until it ends; hangs up <paramref name="seconds"/> after it connects,
    /// on Ctrl-C, or (a group call nobody joins) after <see cref="GroupRingWait"/>. True when it connected.
    /// </summary>
    private static async Task<bool> FollowCallAsync(DeviceSession device, CallSession call, int seconds, TextWriter output, CancellationToken ct)
    {
        var client = device.Client;
        var connected = false;
        using var hangUp = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (call.IsGroup)
            hangUp.CancelAfter(GroupRingWait);
        try
        {
            await foreach (var e in client.Events.ReadAllAsync(hangUp.Token))
            {
                if (e is Disconnected or Reconnecting or Reconnected)
                    Show(e, device, output);
                if (e is not CallChanged { Call: var changed } || changed.Id != call.Id)
                    continue;
                output.WriteLine(CallLine(changed));
                if (changed.IsEnded)
                    return connected;
                if (changed.State == CallState.Connected && !connected)
                {
                    connected = true;
                    hangUp.CancelAfter(seconds > 0 ? TimeSpan.FromSeconds(seconds) : Timeout.InfiniteTimeSpan);
                }
            }
            return connected;
        }
        catch (OperationCanceledException)
        {
        }
        if (call.IsGroup && !connected && !ct.IsCancellationRequested)
            output.WriteLine($"nobody joined within {GroupRingWait.TotalSeconds:0} s");
        await EndAsync(client, call);
        // The end is told before the hang-up returns.
        while (client.Events.TryRead(out var e))
        {
            if (e is CallChanged { Call: { IsEnded: true } ended } && ended.Id == call.Id)
            {
                output.WriteLine(CallLine(ended));
                break;
            }
        }
        return connected;
    }

    private static async Task EndAsync(WhatsAppClient client, CallSession call)
    {
        try
        {
            await (call.IsGroup ? client.LeaveCallAsync(call.Id) : client.HangupAsync(call.Id));
        }
        catch (InvalidOperationException)
        {
            // It ended meanwhile; its end is among the events.
        }
    }

    /// <summary>`wa calls`: shows call changes and missed calls, and answers or rejects what rings when told to.</summary>
    private static async Task OnCallEventAsync(DeviceSession device, ClientEvent e, bool answer, bool reject, TextWriter output)
    {
        switch (e)
        {
            case CallChanged { Call: var call }:
                output.WriteLine(CallNotice(call));
                if (call.State != CallState.Incoming || !(answer || reject))
                    return;
                // Not cancelled by Ctrl-C: an answer the server took is followed through, and hung up on the way out.
                try
                {
                    if (reject)
                        await device.Client.RejectCallAsync(call.Id, CancellationToken.None);
                    else if (call.IsGroup)
                        await device.Client.JoinCallAsync(call.Id, call.GroupId, call.Media, CancellationToken.None);
                    else
                        await device.Client.AnswerCallAsync(call.Id, PlaceholderAnswer, CancellationToken.None);
                }
                catch (Exception refused) when (refused is InvalidOperationException or ServerErrorException)
                {
                    // Another device was quicker, or the caller gave up: the call's end follows as an event.
                    output.WriteLine($"(could not {(reject ? "reject" : "answer")} it: {Explain(refused)})");
                }
                break;
            case MessageReceived received when received.AsMissedCall() is { } missed:
                output.WriteLine(MissedCallLine(missed));
                device.Store.MarkShown(ChatId.Of(received.Deliver), received.Deliver.FromUserId, received.Deliver.MessageId);
                break;
            case Disconnected or Reconnecting or Reconnected:
                Show(e, device, output);
                break;
        }
    }

    /// <summary>How `wa call` tells a change of its call: "calling bob (voice call)…", "ringing", "connected", "ended: no answer".</summary>
    internal static string CallLine(CallSession c) => c.State switch
    {
        CallState.Outgoing when c.OnOtherDevice => $"you are calling {Whom(c)} on your device {c.Caller.DeviceId}",
        CallState.Outgoing => $"calling {Whom(c)} ({KindOf(c.Media)})…",
        CallState.Ringing => "ringing",
        CallState.Incoming => $"incoming {KindOf(c.Media)} from {c.Caller.UserId}{(c.IsGroup ? $" in group {c.GroupId}" : "")}",
        CallState.Connected when c.IsGroup && c.Participants.Length > 0 => $"in the call: {string.Join(", ", c.Participants.Select(p => NameOf(c, p)))}",
        CallState.Connected => "connected",
        _ => $"ended: {WhyEnded(c)}",
    };

    /// <summary>How `wa listen` and `wa calls` tell a change of any call: the time, and whose call it is unless the line says so.</summary>
    internal static string CallNotice(CallSession c)
    {
        var when = (c.EndedAt ?? c.ConnectedAt ?? c.StartedAt).ToLocalTime();
        var line = CallLine(c);
        return $"[{when:HH:mm:ss}] {(c.State is CallState.Outgoing or CallState.Incoming ? line : $"call with {Whom(c)}: {line}")}";
    }

    /// <summary>"missed voice call from bob at 14:05" (the server's record of a call no device of this user answered).</summary>
    internal static string MissedCallLine(MissedCall missed) =>
        $"missed {KindOf(missed.Media)} from {missed.FromUserId}{(missed.GroupId.Length > 0 ? $" in group {missed.GroupId}" : "")} " +
        $"at {DateTimeOffset.FromUnixTimeMilliseconds((long)missed.At).ToLocalTime():HH:mm}";

    private static string Whom(CallSession c) => c.IsGroup ? $"group {c.GroupId}" : c.OtherUser;

    private static string KindOf(CallMedia media) => media == CallMedia.Video ? "video call" : "voice call";

    private static string NameOf(CallSession c, CallMember p)
    {
        var name = p.UserId != c.Me.UserId ? p.UserId : p.DeviceId == c.Me.DeviceId ? "you" : $"you (device {p.DeviceId})";
        return p.Media == CallMedia.Video ? name + " (video)" : name;
    }

    private static string WhyEnded(CallSession c) => c.EndReason switch
    {
        CallEnd.HungUp => c.IsGroup ? "you left" : "you hung up",
        CallEnd.RemoteHangup when c.IsGroup || c.OnOtherDevice => "the call is over",
        CallEnd.RemoteHangup => $"{c.OtherUser} hung up",
        CallEnd.NoAnswer => "no answer",
        CallEnd.Failed => "failed (a connection was lost)",
        CallEnd.AnsweredElsewhere when c.OnOtherDevice => $"{Whom(c)} answered on your other device",
        CallEnd.AnsweredElsewhere => "answered on another device",
        CallEnd.RejectedElsewhere => "declined on another device",
        CallEnd.Rejected when c.Direction == CallDirection.Outgoing => $"{c.OtherUser} declined",
        CallEnd.Rejected => "declined",
        CallEnd.Busy when c.Direction == CallDirection.Outgoing => $"{c.OtherUser} is busy",
        CallEnd.Busy => "busy (you were in another call)",
        _ => "ended",
    };
}
