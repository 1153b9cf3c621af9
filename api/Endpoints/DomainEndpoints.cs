using CloudDeck.Api.Authentication;
using CloudDeck.Api.Edge;
using CloudDeck.Api.Http;
using CloudDeck.Api.OpenApi;
using CloudDeck.GrainInterfaces.Domains;
using CloudDeck.GrainInterfaces.Projects;

namespace CloudDeck.Api.Endpoints;

/// <summary>
/// <c>/api/v1/orgs/{slug}/projects/{project}/domains</c>: a project's custom domains. The name is checked here (a 400
/// naming the reason); the domain grain decides who may have it (another project's: 409) and everything else.
/// </summary>
public static class DomainEndpoints
{
    private const string Tag = "Domains";

    /// <summary>One page of a project's domains, in name order; <c>next_cursor</c> continues after the last one.</summary>

    public sealed record AddDomainBody(string Domain);

    /// <summary>Only the fields present change; <c>redirect</c> is one of <see cref="DomainRedirects.All"/>.</summary>
    public sealed record UpdateDomainBody(bool? Hsts = null, string? Redirect = null);

    public static RouteGroupBuilder MapDomainEndpoints(this RouteGroupBuilder api)
    {
        var domains = api.MapGroup("/orgs/{slug}/projects/{project}/domains").SignedIn().WithTags(Tag).Refuses(400, 404).AddEndpointFilter(async (context, next) =>
        {
            var values = context.HttpContext.Request.RouteValues;
            if (values["slug"] is not string slug || !RouteValues.IsSlug(slug)) return JsonBody.FieldProblem("slug", RouteValues.SlugRule);
            if (!ProjectKeys.IsWellFormedName(values["project"] as string)) return JsonBody.FieldProblem("project", ProjectKeys.NameRule);
            if (values.TryGetValue("domain", out var domain) && Problem(domain as string ?? "", context.HttpContext) is { } problem)
            {
                return JsonBody.FieldProblem("domain", problem);
            }

            return await next(context);
        });

        domains.MapGet("", ListAsync).Describe("listDomains", "List the project's custom domains").AnswersPage<DomainView>();
        domains.MapPost("", AddAsync).Describe("addDomain", "Add a custom domain to the project")
            .Takes<AddDomainBody>().AnswersCreated<DomainView>().Refuses(StatusCodes.Status409Conflict);
        domains.MapGet("/{domain}", async (string slug, string project, string domain, HttpContext http, IGrainFactory grains) =>
                TypedResults.Ok(await Grain(grains, domain).Get(http.Caller(), ProjectKeys.Of(slug, project))))
            .Describe("getDomain", "A custom domain: verification and certificate state").Answers<DomainView>();
        domains.MapPatch("/{domain}", UpdateAsync).Describe("updateDomain", "Change a domain's HSTS and www/apex redirect")
            .Takes<UpdateDomainBody>().Answers<DomainView>();
        domains.MapPost("/{domain}/verify", async (string slug, string project, string domain, HttpContext http, IGrainFactory grains) =>
                TypedResults.Ok(await Grain(grains, domain).Verify(http.Caller(), ProjectKeys.Of(slug, project))))
            .Describe("verifyDomain", "Check the domain's DNS now (and order its certificate once verified)").Answers<DomainView>();
        domains.MapDelete("/{domain}", async (string slug, string project, string domain, HttpContext http, IGrainFactory grains) =>
            {
                await Grain(grains, domain).Remove(http.Caller(), ProjectKeys.Of(slug, project));
                return TypedResults.NoContent();
            })
            .Describe("removeDomain", "Remove a custom domain from the project").AnswersEmpty();
        return api;
    }

    private static IDomainGrain Grain(IGrainFactory grains, string domain) => grains.GetGrain<IDomainGrain>(DomainNames.Normalize(domain));

    private static string? Problem(string domain, HttpContext http) =>
        DomainNames.Problem(DomainNames.Normalize(domain), http.RequestServices.GetRequiredService<EdgeOptions>().BaseDomain);

    private static async Task<IResult> ListAsync(string slug, string project, HttpContext http, IGrainFactory grains)
    {
        if (!Paging.TryRead(http.Request, out var limit, out var cursor, out var problem)) return problem!;
        var key = ProjectKeys.Of(slug, project);
        // Asked first, so another tenant's project is a 404 whether or not it has domains.
        await grains.GetGrain<IProjectGrain>(key).Get(http.Caller());
        var names = (await grains.GetGrain<IDomainRegistryGrain>(0).ListProject(key))
            .Where(name => cursor is null || string.CompareOrdinal(name, cursor) > 0).Take(limit + 1).ToList();
        var views = await Task.WhenAll(names.Take(limit).Select(name => Grain(grains, name).Get(http.Caller(), key)));
        return TypedResults.Ok(Paging.Named(views, names.Count > limit ? names[limit - 1] : null));
    }

    private static async Task<IResult> AddAsync(string slug, string project, HttpContext http, IGrainFactory grains)
    {
        var body = await JsonBody.ReadAsync(http.Request);
        var domain = DomainNames.Normalize(body.String("domain", DomainNames.MaxLength + 1) ?? "");
        if (body.IsValid && Problem(domain, http) is { } problem) body.Fail("domain", problem);
        var settings = ReadSettings(body);
        if (body.Problem() is { } invalid) return invalid;
        var view = await Grain(grains, domain).Add(http.Caller(), ProjectKeys.Of(slug, project), settings);
        return TypedResults.Created($"/api/v1/orgs/{slug}/projects/{project}/domains/{view.Domain}", view);
    }

    private static async Task<IResult> UpdateAsync(string slug, string project, string domain, HttpContext http, IGrainFactory grains)
    {
        var body = await JsonBody.ReadAsync(http.Request);
        var settings = ReadSettings(body);
        if (body.Problem() is { } invalid) return invalid;
        return TypedResults.Ok(await Grain(grains, domain).Update(http.Caller(), ProjectKeys.Of(slug, project), settings));
    }

    private static DomainSettings ReadSettings(JsonBody body)
    {
        var hsts = body.OptionalBool("hsts");
        var redirect = body.String("redirect", 20, required: false);
        if (redirect is not null && !DomainRedirects.All.Contains(redirect)) body.Fail("redirect", $"must be one of {string.Join(", ", DomainRedirects.All)}");
        return new DomainSettings(hsts, redirect);
    }
}
