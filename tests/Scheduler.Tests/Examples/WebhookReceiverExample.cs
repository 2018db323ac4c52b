using System.Security.Cryptography;
using System.Text;

namespace Scheduler.Tests.Examples;

/// <summary>How a receiver checks a webhook call's signature (docs/webhooks.md), compiled and used by the webhook tests.</summary>
public static class WebhookReceiverExample
{
    // docs: webhook verify
    /// <summary>Whether a webhook call is genuine: its X-Scheduler-Signature header ("t=SECONDS,v1=HEX") matches its body.</summary>
    public static bool IsGenuine(string secret, string? signatureHeader, byte[] body, DateTimeOffset now)
    {
        string? timestamp = null, signature = null;
        foreach (var part in (signatureHeader ?? "").Split(','))
        {
            var pair = part.Split('=', 2);
            if (pair.Length == 2 && pair[0] == "t") timestamp = pair[1];
            if (pair.Length == 2 && pair[0] == "v1") signature = pair[1];
        }
        if (timestamp is null || signature is null || !long.TryParse(timestamp, out var seconds))
            return false;
        // A call older than 5 minutes is refused, so a captured call cannot be replayed later.
        if (Math.Abs(now.ToUnixTimeSeconds() - seconds) > 300)
            return false;
        var signed = Encoding.UTF8.GetBytes(timestamp + ".").Concat(body).ToArray();
        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), signed);
        try
        {
            return CryptographicOperations.FixedTimeEquals(expected, Convert.FromHexString(signature));
        }
        catch (FormatException)
        {
            return false;
        }
    }
    // docs: end webhook verify
}
