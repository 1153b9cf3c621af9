// A client generated from the repository's openapi.json (openapi-typescript's types, openapi-fetch's calls), used the way
// a new user would: sign up, log in, create a project, list its deployments. Compiled with tsc (strict) by
// GeneratedClientTests, then run with node: `node client/out/walkthrough.js <base-url> <email> <password>`.
// Prints one JSON line of what it saw; exits 1 with the reason on the first unexpected answer.
import createClient from "openapi-fetch";
import type { paths } from "./generated/clouddeck.js";

const [baseUrl, email, password] = process.argv.slice(2);
if (!baseUrl || !email || !password) fail("usage: walkthrough.js <base-url> <email> <password>");

const api = createClient<paths>({ baseUrl });

const signUp = await api.POST("/api/v1/auth/signup", { body: { email, password } });
if (signUp.response.status !== 202 || !signUp.data) fail(`sign-up answered ${signUp.response.status}`, signUp.error);

const login = await api.POST("/api/v1/auth/login", { body: { email, password } });
if (!login.data) fail(`login answered ${login.response.status}`, login.error);
// A login answers tokens, or a challenge when the account has MFA: this one has none.
if (!("access_token" in login.data)) fail("login asked for a second factor", login.data);
const accessToken: string = login.data.access_token;
api.use({
  onRequest({ request }) {
    request.headers.set("Authorization", `Bearer ${accessToken}`);
    return request;
  },
});

const me = await api.GET("/api/v1/me");
if (!me.data) fail(`GET /me answered ${me.response.status}`, me.error);
const slug = me.data.organizations[0]?.slug;
if (!slug) fail("the new account has no organization", me.data);

const project = await api.POST("/api/v1/orgs/{slug}/projects", { params: { path: { slug } }, body: { name: "web" } });
if (project.response.status !== 201 || !project.data) fail(`creating the project answered ${project.response.status}`, project.error);

const deployments = await api.GET("/api/v1/orgs/{slug}/projects/{project}/deployments", {
  params: { path: { slug, project: project.data.name } },
});
if (!deployments.data) fail(`listing deployments answered ${deployments.response.status}`, deployments.error);

// A refusal arrives typed as the document's ProblemDetails.
const missing = await api.GET("/api/v1/orgs/{slug}/projects/{project}/deployments", { params: { path: { slug, project: "no-such-project" } } });
const refusal = { status: missing.response.status, title: missing.error?.title ?? null };

console.log(JSON.stringify({
  signUp: signUp.data,
  organization: slug,
  project: project.data.name,
  deployments: deployments.data.items.map((deployment) => deployment.id),
  refusal,
}));

function fail(reason: string, detail?: unknown): never {
  console.error(reason, detail === undefined ? "" : JSON.stringify(detail));
  process.exit(1);
}
