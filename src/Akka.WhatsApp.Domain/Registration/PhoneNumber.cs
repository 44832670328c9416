namespace Akka.WhatsApp.Domain.Registration;

/// <summary>An E.164 phone number: '+', a non-zero country digit, 8 to 15 digits in all.</summary>
public static class PhoneNumber
{
    public static bool IsValid(string? text) =>
        text is { Length: >= 9 and <= 16 } && text[0] == '+' && text[1] is >= '1' and <= '9' && text.AsSpan(1).IndexOfAnyExceptInRange('0', '9') < 0;
}
