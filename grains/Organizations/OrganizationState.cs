namespace CloudDeck.Grains.Organizations;

public sealed class OrganizationState
{
    public bool Created { get; set; }

    public string Name { get; set; } = "";

    public bool Personal { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>One of <c>PlanNames</c>. Changed by owners for now; billing will own it.</summary>
    public string Plan { get; set; } = GrainInterfaces.Organizations.PlanNames.Default;

    /// <summary>The identity provider members must sign in with (no password sign-in); null when none is required.</summary>
    public string? RequiredSsoProvider { get; set; }

    /// <summary>By user id.</summary>
    public Dictionary<string, MemberRecord> Members { get; set; } = [];

    /// <summary>By invitation id. The token's secret is kept only as SHA-256.</summary>
    public Dictionary<string, InvitationRecord> Invitations { get; set; } = [];
}

public sealed class MemberRecord
{
    public string Email { get; set; } = "";

    public string Role { get; set; } = "";

    public DateTimeOffset JoinedAt { get; set; }
}

public sealed class InvitationRecord
{
    public string Email { get; set; } = "";

    public string Role { get; set; } = "";

    public string Hash { get; set; } = "";

    public string InvitedBy { get; set; } = "";

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset ExpiresAt { get; set; }
}
