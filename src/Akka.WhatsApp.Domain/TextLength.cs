namespace Akka.WhatsApp.Domain;

/// <summary>How the protocol counts text lengths (PROTOCOL.md §1): in Unicode code points, not UTF-16 units or graphemes.</summary>
public static class TextLength
{
    /// <summary>The code points of <paramref name="text"/>: an emoji outside the BMP is one, a family emoji of five joined ones is five.</summary>
    public static int CodePoints(string text)
    {
        var count = 0;
        foreach (var _ in text.EnumerateRunes())
            count++;
        return count;
    }
}
