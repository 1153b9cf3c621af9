// A real OpenID Provider (npm's oidc-provider, OpenID-certified) for the sign-in tests, on 127.0.0.1.
//
//   node oidc-provider.mjs <port> <clouddeck-base-url>
//
// Accounts: any login typed into its login form is an account; its sub is the login. "name@example.com" has that
// email, verified; "unverified:name@example.com" has that email with email_verified false.
// Clients: "clouddeck" for the provider CloudDeck calls "corp". "clouddeck-tampered" (provider "corp-tampered") is the
// same issuer with one test-only twist: its token answers carry an ID token whose payload was altered after signing
// (sub swapped), as an attacker on the way would, so its signature no longer verifies.
import Provider from 'oidc-provider';

const [port, clouddeck] = process.argv.slice(2);
if (!port || !clouddeck) {
  console.error('usage: node oidc-provider.mjs <port> <clouddeck-base-url>');
  process.exit(2);
}

const issuer = `http://127.0.0.1:${port}`;
const callback = (name) => `${clouddeck.replace(/\/$/, '')}/api/v1/auth/sso/${name}/callback`;

function account(login) {
  const unverified = login.startsWith('unverified:');
  const email = unverified ? login.slice('unverified:'.length) : login;
  return {
    accountId: login,
    async claims() {
      return { sub: login, email, email_verified: !unverified, name: email.split('@')[0] };
    },
  };
}

const provider = new Provider(issuer, {
  clients: [
    { client_id: 'clouddeck', client_secret: 'corp-client-secret', redirect_uris: [callback('corp')], response_types: ['code'], grant_types: ['authorization_code'] },
    { client_id: 'clouddeck-tampered', client_secret: 'tampered-client-secret', redirect_uris: [callback('corp-tampered')], response_types: ['code'], grant_types: ['authorization_code'] },
  ],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  findAccount: (ctx, id) => account(id),
  pkce: { required: () => true },
  cookies: { keys: ['oidc-test-cookie-key-not-a-secret'] },
  features: { devInteractions: { enabled: true } },
});

provider.use(async (ctx, next) => {
  await next();
  if (ctx.path === '/token' && ctx.body && typeof ctx.body.id_token === 'string' && ctx.oidc?.client?.clientId === 'clouddeck-tampered') {
    const [header, payload, signature] = ctx.body.id_token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    claims.sub = 'mallory@example.com';
    ctx.body = { ...ctx.body, id_token: `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}` };
  }
});

provider.on('server_error', (ctx, error) => console.error('server_error', error));
provider.listen(Number(port), '127.0.0.1', () => console.log(`READY ${issuer}`));
