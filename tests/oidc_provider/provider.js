// A real OpenID Connect provider for OKRly's single sign-on tests (tests/oidc.py starts it).
//
//   node provider.js PORT REDIRECT_URI
//
// panva's oidc-provider on http://127.0.0.1:PORT with one confidential client (okrly-test,
// secret okrly-test-secret, client_secret_post) whose only redirect URI is REDIRECT_URI,
// a fresh RS256 key each run, and the accounts below. Sign-in is oidc-provider's own
// development interaction: any password is accepted for a known login; the consent step is
// skipped because OKRly is this provider's first-party client.
import { generateKeyPairSync } from 'node:crypto';

import Provider from 'oidc-provider';

const [port, redirectUri] = process.argv.slice(2);
if (!port || !redirectUri) {
  console.error('usage: node provider.js PORT REDIRECT_URI');
  process.exit(2);
}

// Log-in name -> claims. olga matches a seeded OKRly user; nina is unknown to OKRly; uma
// claims olga's address but the provider never verified it.
const ACCOUNTS = {
  olga: { email: 'olga@example.com', email_verified: true, name: 'Olga Owner', given_name: 'Olga', family_name: 'Owner' },
  nina: { email: 'Nina.New@example.com', email_verified: true, name: 'Nina Newcomer', given_name: 'Nina', family_name: 'Newcomer' },
  uma: { email: 'olga@example.com', email_verified: false, name: 'Uma Unverified', given_name: 'Uma', family_name: 'Unverified' },
};

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'okrly-test', alg: 'RS256', use: 'sig' };

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: 'okrly-test',
    client_secret: 'okrly-test-secret',
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
    id_token_signed_response_alg: 'RS256',
  }],
  jwks: { keys: [signingKey] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name'],
  },
  cookies: { keys: ['okrly-test-cookie-key'] },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    if (!Object.hasOwn(ACCOUNTS, id)) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...ACCOUNTS[id] }) };
  },
  // First-party client: grant what it asks for instead of showing a consent page (which also
  // lets a silent renewal, prompt=none, succeed while the provider's session lasts).
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
});

// oidc-provider's pages @import a web font from a CDN; the tests' traffic stays on this machine.
provider.use(async (ctx, next) => {
  await next();
  if (typeof ctx.body === 'string' && ctx.type.startsWith('text/html')) {
    ctx.body = ctx.body.replace(/@import url\(https?:\/\/[^)]*\);?/g, '');
  }
});

const server = provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`oidc-provider listening on http://127.0.0.1:${port}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
