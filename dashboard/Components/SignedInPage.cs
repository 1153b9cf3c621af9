using CloudDeck.Dashboard.Api;
using CloudDeck.Dashboard.Session;
using Microsoft.AspNetCore.Components;

namespace CloudDeck.Dashboard.Components;

/// <summary>
/// A page for a signed-in user (static server rendering): without a session it redirects to the login page; it loads
/// the account (for the organization switcher) and then its own data; a 404 from the API renders the not-found page
/// with status 404 (another organization's project looks exactly like no project); any other API error is shown in
/// the words of its ProblemDetails.
/// </summary>
public abstract class SignedInPage : ComponentBase
{
    [Inject] protected DashboardApi Api { get; set; } = default!;

    [Inject] protected DashboardSession Session { get; set; } = default!;

    [Inject] protected NavigationManager Navigation { get; set; } = default!;

    protected Account? Me { get; private set; }

    /// <summary>The API's refusal of the last action or load, shown above the page's content.</summary>
    protected ApiProblem? Problem { get; set; }

    protected bool Loaded { get; private set; }

    /// <summary>The user's role in <paramref name="org"/>, or null when not a member.</summary>
    protected string? RoleIn(string org) => Me?.Organizations.FirstOrDefault(o => o.Slug == org)?.Role;

    protected override async Task OnInitializedAsync()
    {
        if (!Session.IsSignedIn)
        {
            Navigation.NavigateTo(LoginUrl(Navigation.ToBaseRelativePath(Navigation.Uri)));
            return;
        }

        await RunAsync(async () =>
        {
            Me = await Api.MeAsync();
            await LoadAsync();
            Loaded = true;
        });
    }

    /// <summary>Reads what the page shows; an <see cref="ApiProblem"/> it throws is handled by the base.</summary>
    protected abstract Task LoadAsync();

    /// <summary>Runs an action of a form post, then redirects (post/redirect/get) to <paramref name="then"/>; a refusal stays on the page.</summary>
    protected async Task ActAsync(Func<Task> action, string then)
    {
        var succeeded = false;
        await RunAsync(async () =>
        {
            await action();
            succeeded = true;
        });
        if (succeeded) Navigation.NavigateTo(then);
    }

    private async Task RunAsync(Func<Task> work)
    {
        try
        {
            await work();
        }
        catch (ApiProblem problem) when (problem.IsUnauthorized)
        {
            Session.SignOut();
            Navigation.NavigateTo(LoginUrl(Navigation.ToBaseRelativePath(Navigation.Uri)));
        }
        catch (ApiProblem problem) when (problem.IsNotFound)
        {
            Navigation.NotFound();
        }
        catch (ApiProblem problem)
        {
            Problem = problem;
        }
    }

    public static string LoginUrl(string returnPath) => "/login?return=" + Uri.EscapeDataString("/" + returnPath.TrimStart('/'));

    /// <summary>Only a path on this site: "//evil.example" and absolute URLs are refused (no open redirect).</summary>
    public static string SafeReturnPath(string? path) =>
        path is { Length: > 0 } && path[0] == '/' && (path.Length == 1 || (path[1] != '/' && path[1] != '\\')) ? path : "/";
}
