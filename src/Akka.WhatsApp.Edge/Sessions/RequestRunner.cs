using Akka.Actor;
using Akka.WhatsApp.Edge.Handlers;
using Akka.WhatsApp.Edge.Monitoring;
using Akka.WhatsApp.Protocol;
using Microsoft.Extensions.Logging;

namespace Akka.WhatsApp.Edge.Sessions;

/// <summary>
/// Runs one connection's requests: asynchronously, at most <see cref="ClientSession.MaxInFlight"/> unanswered at a
/// time, each answered exactly once — with the handler's reply, or with the error code its failure maps to
/// (<see cref="RequestException"/>, TIMEOUT for an Ask that got no answer, INTERNAL for a bug), never a crash.
/// </summary>
internal sealed class RequestRunner(ClientSession session, IClientConnection connection, EdgeMetrics metrics, ILogger log)
{
    private int _inFlight;

    /// <summary>Starts <paramref name="handler"/> on <paramref name="frame"/>, or refuses it at the in-flight limit.</summary>
    public void Run(Frame frame, RequestHandler handler)
    {
        if (Interlocked.Increment(ref _inFlight) > ClientSession.MaxInFlight)
        {
            Interlocked.Decrement(ref _inFlight);
            session.Refuse(frame, ErrorCode.TooManyRequestsInFlight, $"at most {ClientSession.MaxInFlight} requests may wait for an answer");
            return;
        }
        _ = RunAsync(frame, handler);
    }

    /// <summary>
    /// Runs a request and answers it. The request stops counting as in flight before its answer is written: a client
    /// at its limit sends the next request the moment it reads an answer, which could otherwise arrive first and be
    /// refused with TOO_MANY_REQUESTS_IN_FLIGHT (seen in the offline-sync load test).
    /// </summary>
    private async Task RunAsync(Frame frame, RequestHandler handler)
    {
        var arrived = System.Diagnostics.Stopwatch.GetTimestamp();
        var counted = true;
        void Finished()
        {
            if (counted)
                Interlocked.Decrement(ref _inFlight);
            counted = false;
        }
        try
        {
            var reply = await handler(frame, session);
            Finished();
            if (reply is not null && !session.IsClosed)
            {
                reply.RequestId = frame.RequestId;
                connection.Send(reply);
                Count(reply, arrived);
            }
        }
        catch (RequestException e)
        {
            Finished();
            session.Refuse(frame, e.Code, e.Message, e.RetryAfterMs, e.Stale ?? []);
        }
        catch (AskTimeoutException)
        {
            Finished();
            session.Refuse(frame, ErrorCode.Timeout, "the server did not answer in time; retry");
        }
        catch (Exception e)
        {
            Finished();
            log.LogError(e, "Connection {Connection}: {Packet} failed", connection.Id, frame.PacketCase);
            session.Refuse(frame, ErrorCode.Internal, "internal error");
        }
        finally
        {
            Finished();
        }
    }

    /// <summary>Accepted messages and the send→ack latency, once their answer is written.</summary>
    private void Count(Frame reply, long arrived)
    {
        switch (reply.PacketCase)
        {
            case Frame.PacketOneofCase.SendResult:
                metrics.SendAnswered(arrived, reply.SendResult.Duplicate);
                break;
            case Frame.PacketOneofCase.GroupSendResult:
                metrics.GroupSendAnswered(reply.GroupSendResult.Duplicate);
                break;
        }
    }
}
