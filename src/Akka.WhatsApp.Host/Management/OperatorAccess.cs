using Microsoft.AspNetCore.Http;

namespace Akka.WhatsApp.Host.Management;

/// <summary>
/// Who may use a management route: changes need the operator token (WA_MANAGEMENT_TOKEN, "Authorization: Bearer");
/// without a token configured they are refused. Reads need it too unless WA_MANAGEMENT_READ_OPEN=on.
/// </summary>
public sealed class OperatorAccess(string? operatorToken, bool readOpen)
{
    private readonly BearerToken? _expected = operatorToken is null ? null : new BearerToken(operatorToken);

    /// <summary>Null when the request may go on, else the answer that refuses it.</summary>
    public IResult? Refused(HttpRequest request, bool mutating)
    {
        if (!mutating && readOpen)
            return null;
        if (_expected is null)
            return Results.Json(new { message = $"set WA_MANAGEMENT_TOKEN on the node to {(mutating ? "change" : "read")} the cluster over HTTP" },
                statusCode: StatusCodes.Status403Forbidden);
        return _expected.IsPresentIn(request)
            ? null
            : Results.Json(new { message = "the operator token is required: Authorization: Bearer <WA_MANAGEMENT_TOKEN>" },
                statusCode: StatusCodes.Status401Unauthorized);
    }
}
