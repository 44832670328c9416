using System.Collections.Immutable;
using System.Net;
using System.Threading.Channels;
using Akka.Actor;
using Akka.TestKit;
using Akka.WhatsApp.Domain;
using Akka.WhatsApp.Domain.Accounts;
using Akka.WhatsApp.Domain.Groups;
using Akka.WhatsApp.Domain.Mailbox;
using Akka.WhatsApp.Domain.Registration;
using Akka.WhatsApp.Edge.Backend;
using Akka.WhatsApp.Edge.Sessions;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Akka.WhatsApp.Edge.Tests.Handlers;

/// <summary>
/// The edge without a cluster: a real <see cref="ClientSession"/> over an in-memory connection, with test probes standing
/// in for the shard regions and the presence bus, and fake time. Each spec drives frames in and answers the probes.
/// </summary>
public abstract class EdgeSpec : Akka.TestKit.Xunit2.TestKit
{
    protected static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);
    protected static readonly UserId Alice = new("alice");
    protected static readonly UserId Bob = new("bob");
    protected static readonly byte[] AliceToken = [1, 2, 3, 4, 5, 6, 7, 8];

    protected EdgeSpec(EdgeSettings? settings = null)
    {
        (Mailboxes, Accounts, Groups, Verifications, Bus, Keys) = (CreateTestProbe(), CreateTestProbe(), CreateTestProbe(), CreateTestProbe(), CreateTestProbe(), CreateTestProbe());
        var backend = new EdgeBackend
        {
            System = Sys, Mailboxes = Mailboxes, Accounts = Accounts, Groups = Groups, Verifications = Verifications, Keys = Keys.Ref, PresenceBus = Bus, Directory = Directory,
            AskTimeout = Wait, Time = Time,
        };
        Settings = settings ?? new EdgeSettings();
        Session = new ClientSession(Connection, Settings, Time, NullLogger.Instance, () => backend);
    }

    protected TestProbe Mailboxes { get; }
    protected TestProbe Accounts { get; }
    protected TestProbe Groups { get; }
    protected TestProbe Verifications { get; }
    protected TestProbe Keys { get; }
    protected TestProbe Bus { get; }
    protected FakeDirectory Directory { get; } = new();
    protected FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 12, 2, 12, 0, 0, TimeSpan.Zero));
    protected InMemoryConnection Connection { get; } = new();
    protected EdgeSettings Settings { get; }
    protected ClientSession Session { get; }

    private uint _requestId;

    /// <summary>Sends a frame as the client would, with the next request id unless one is set.</summary>
    protected uint Receive(Frame frame)
    {
        if (frame.RequestId == 0)
            frame.RequestId = ++_requestId;
        Session.Receive(frame);
        return frame.RequestId;
    }

    /// <summary>Hello, then Login as alice's device 1 with the account and the mailbox answering; returns the LoginOk.</summary>
    protected async Task<Frame> LoggedInAsync(params uint[] devices)
    {
        Receive(new Frame { Hello = new Hello { ProtocolVersion = ProtocolVersion.Current } });
        Assert.Equal(Frame.PacketOneofCase.Welcome, (await Connection.NextAsync()).PacketCase);
        Receive(new Frame { Login = new Login { UserId = Alice.Value, DeviceId = 1, Token = ByteString.CopyFrom(AliceToken) } });
        Accounts.ExpectMsg<AccountCommands.Authenticate>(Wait);
        Accounts.Reply(new AccountReplies.Authenticated(DeviceId.Primary,
            ImmutableSortedSet.CreateRange(Comparer<DeviceId>.Create((a, b) => a.Value.CompareTo(b.Value)),
                (devices.Length == 0 ? [1u] : devices).Select(d => new DeviceId(d))), "+15550000001", Generation: 1));
        var attach = Mailboxes.ExpectMsg<MailboxCommands.Attach>(Wait);
        attach.Session.Tell(new MailboxPushes.Attached(Alice, DeviceId.Primary, 0), Mailboxes.Ref);
        var ok = await Connection.NextAsync();
        Assert.Equal(Frame.PacketOneofCase.LoginOk, ok.PacketCase);
        return ok;
    }

    /// <summary>
    /// Proves that the session asked the accounts nothing so far, without waiting out a silence: a request that does
    /// ask them (ListDevices) is sent, and the first thing the accounts probe receives must be its question. The
    /// session handles a connection's frames in order, so anything asked earlier would arrive first.
    /// </summary>
    protected async Task NothingAskedOfTheAccountsAsync()
    {
        var request = Receive(new Frame { ListDevices = new ListDevices() });
        Assert.IsType<AccountCommands.GetDevices>(Accounts.ReceiveOne(Wait));
        Accounts.Reply(new AccountReplies.Devices([]));
        Mailboxes.ExpectMsg<MailboxCommands.GetPresence>(Wait);
        Mailboxes.Reply(new MailboxReplies.PresenceIs(true, [1]));
        Assert.Equal(request, (await Connection.NextAsync()).RequestId);
    }

    /// <summary>As <see cref="NothingAskedOfTheAccountsAsync"/>, for the groups: GetGroupInfo of a well-formed id asks one.</summary>
    protected async Task NothingAskedOfTheGroupsAsync()
    {
        var request = Receive(new Frame { GetGroupInfo = new GetGroupInfo { GroupId = new string('a', 32) } });
        Assert.IsType<GroupCommands.GetInfo>(Groups.ReceiveOne(Wait));
        Groups.Reply(new GroupReplies.Rejected(GroupError.NotAMember, "not a member"));
        Assert.Equal(request, (await Connection.NextAsync()).RequestId);
    }

    /// <summary>Answers the next account question with the given device lists and block flags (as GetDeliveryInfo would).</summary>
    protected static AccountReplies.DeliveryInfo Info(bool blocks = false, params uint[] devices) =>
        new([.. (devices.Length == 0 ? [1u] : devices)], blocks, SharesPresence: true, ReadReceipts: true);

    protected static ByteString NewId() => ByteString.CopyFrom(Guid.NewGuid().ToByteArray());

    /// <summary>The frames the session writes, in order: what the client would read.</summary>
    public sealed class InMemoryConnection : IClientConnection
    {
        private readonly Channel<Frame> _sent = Channel.CreateUnbounded<Frame>();

        public bool Closed { get; private set; }
        public string Id => "memory";
        public EndPoint? RemoteAddress => null;

        public void Send(Frame frame) => _sent.Writer.TryWrite(frame);

        public void SendAndClose(Frame frame)
        {
            Closed = true; // before the frame: a reader that sees the last frame sees the connection closed
            _sent.Writer.TryWrite(frame);
        }

        public async Task<Frame> NextAsync()
        {
            using var timeout = new CancellationTokenSource(Wait);
            return await _sent.Reader.ReadAsync(timeout.Token);
        }

        public bool TryNext(out Frame frame) => _sent.Reader.TryRead(out frame!);
    }

    /// <summary>A phone directory in memory: the users it knows exist.</summary>
    public sealed class FakeDirectory : IPhoneDirectory
    {
        public HashSet<UserId> Users { get; } = [];
        public int ExistenceQueries { get; private set; }

        public Task RegisterAsync(string phone, UserId user, CancellationToken cancellationToken)
        {
            Users.Add(user);
            return Task.CompletedTask;
        }

        public Task<IReadOnlyDictionary<string, UserId>> LookupAsync(IReadOnlyCollection<string> phones, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyDictionary<string, UserId>>(ImmutableDictionary<string, UserId>.Empty);

        public Task<IReadOnlySet<UserId>> ExistingAsync(IReadOnlyCollection<UserId> users, CancellationToken cancellationToken)
        {
            ExistenceQueries++;
            return Task.FromResult<IReadOnlySet<UserId>>(users.Where(Users.Contains).ToHashSet());
        }
    }
}
