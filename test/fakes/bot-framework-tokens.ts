import { createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake Bot Framework token issuer on 127.0.0.1: the OpenID metadata document and the signing keys
 * botbuilder fetches (https://learn.microsoft.com/azure/bot-service/rest-api/bot-framework-rest-connector-authentication,
 * "Connector to your bot"), and tokens signed as the Bot Connector signs them (RS256; `iss`
 * https://api.botframework.com, `aud` the bot's app id, `serviceurl`; the key endorsed for `msteams`).
 * Point the Teams integration at `metadataUrl` (createTeamsIntegration's `auth` option) and send
 * `Authorization: Bearer <token()>`: authentication is ON and real, and nothing leaves 127.0.0.1.
 */
export class FakeBotFrameworkTokens {
  readonly requests: string[] = [];
  private readonly key: { privateKey: KeyObject; publicKey: KeyObject };
  /** Another key, never published: tokens it signs are forgeries. */
  private readonly forger: { privateKey: KeyObject };
  private server: Server | undefined;
  port = 0;

  constructor(readonly appId: string) {
    this.key = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.forger = generateKeyPairSync('rsa', { modulusLength: 2048 });
  }

  get metadataUrl(): string {
    return `http://127.0.0.1:${this.port}/v1/.well-known/openidconfiguration`;
  }

  async start(): Promise<this> {
    const jwk = this.key.publicKey.export({ format: 'jwk' });
    this.server = createServer((req, res) => {
      this.requests.push(req.url ?? '');
      res.setHeader('content-type', 'application/json');
      if (req.url === '/v1/.well-known/openidconfiguration') {
        res.end(JSON.stringify({ issuer: 'https://api.botframework.com', jwks_uri: `http://127.0.0.1:${this.port}/v1/keys`, id_token_signing_alg_values_supported: ['RS256'] }));
      } else if (req.url === '/v1/keys') {
        res.end(JSON.stringify({ keys: [{ kty: 'RSA', use: 'sig', kid: 'fake-key-1', n: jwk.n, e: jwk.e, endorsements: ['msteams'] }] }));
      } else {
        res.statusCode = 404;
        res.end('{}');
      }
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** A valid Connector token for `serviceUrl`; `claims` override any claim, `forged` signs it with an unpublished key. */
  token(serviceUrl: string, o: { claims?: Record<string, unknown>; forged?: boolean } = {}): string {
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'RS256', typ: 'JWT', kid: 'fake-key-1' };
    const payload = { iss: 'https://api.botframework.com', aud: this.appId, serviceurl: serviceUrl, nbf: now - 60, exp: now + 3600, ...o.claims };
    const b64 = (x: unknown) => Buffer.from(JSON.stringify(x)).toString('base64url');
    const input = `${b64(header)}.${b64(payload)}`;
    const sig = createSign('RSA-SHA256').update(input).sign(o.forged ? this.forger.privateKey : this.key.privateKey).toString('base64url');
    return `${input}.${sig}`;
  }
}

/**
 * Outbound credentials for tests with authentication on: each call to the fake connector carries a
 * fixed bearer token instead of one fetched from login.microsoftonline.com (botbuilder's
 * ServiceClientCredentialsFactory contract: isValidAppId, isAuthenticationDisabled, createCredentials).
 */
export function fixedCredentialsFactory(appId: string) {
  return {
    isValidAppId: async (id: string) => id === appId,
    isAuthenticationDisabled: async () => false,
    createCredentials: async () => ({
      signRequest: async <T extends { headers: { set(name: string, value: string): void } }>(webResource: T): Promise<T> => {
        webResource.headers.set('authorization', 'Bearer fake-outbound-token');
        return webResource;
      },
    }),
  };
}
