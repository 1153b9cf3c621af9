namespace CloudDeck.Testing;

/// <summary>
/// PostgreSQL cannot be run on this machine at all (binaries or the postgres OS user missing), as
/// opposed to a server that was found but failed to start. Tests skip on the former, fail on the latter.
/// </summary>
public sealed class PostgresUnavailableException : Exception
{
    public PostgresUnavailableException()
    {
    }

    public PostgresUnavailableException(string message) : base(message)
    {
    }

    public PostgresUnavailableException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
