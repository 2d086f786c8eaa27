import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { bareHost, DestinationRefused, resolveAndCheck, type LookupFn, type ResolvedAddress } from './ssrf-guard.js';
import { signWebhook } from './sign.js';

export interface WebhookRequest {
  url: string;
  secret: string;
  /** `webhook-id`: the delivery id, stable across retries and re-sends. */
  id: string;
  /** The JSON body, exactly as signed. */
  body: string;
  timeoutMs: number;
  allowPrivate: boolean;
  lookup?: LookupFn;
  /** Signing time; receivers compare it with their own clock (+-5 minutes), so it is real time. */
  now?: () => Date;
}

export type WebhookResponse =
  /** The endpoint answered (any status; redirects are answers too and are never followed). */
  | { kind: 'answered'; status: number; location?: string }
  /** No answer: connection refused or reset, timeout, TLS failure. */
  | { kind: 'no_answer'; error: string }
  /** Not sent: the host resolves to an address we may not call. */
  | { kind: 'refused'; reason: string };

/** A `lookup` that only ever returns the address we already checked (no second DNS answer). */
function pinnedLookup(pinned: ResolvedAddress): LookupFunction {
  return ((_host: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void) => {
    // With autoSelectFamily (the default on Node 20) net asks for `all` addresses.
    if (opts?.all) cb(null, [{ address: pinned.address, family: pinned.family }]);
    else cb(null, pinned.address, pinned.family);
  }) as unknown as LookupFunction;
}

/**
 * Keep-alive connections, one pool per checked address and host name: a socket is only ever reused for
 * the address the guard approved for that name (and the name still goes in Host and TLS SNI). A new
 * connection per send was a quarter of a fan-out's cost in the benchmark. Idle sockets are unref'd
 * (they never hold a draining process) and closed after 4 s, before the 5 s after which Node servers
 * drop an idle connection, so a reused socket is rarely one the receiver is closing.
 */
const pools = new Map<string, http.Agent>();
const MAX_POOLS = 1000;
function agentFor(url: URL, pinned: ResolvedAddress): http.Agent {
  const key = `${url.protocol}//${pinned.address}:${url.port}/${url.hostname}`;
  let agent = pools.get(key);
  if (!agent) {
    if (pools.size >= MAX_POOLS) {
      for (const a of pools.values()) a.destroy();
      pools.clear();
    }
    const opts = { keepAlive: true, maxSockets: 32, maxFreeSockets: 32, timeout: 4000, scheduling: 'lifo' as const };
    agent = url.protocol === 'https:' ? new https.Agent(opts) : new http.Agent(opts);
    pools.set(key, agent);
  }
  return agent;
}

/** POSTs one signed event. Resolves and checks the host on every call (DNS may have changed). */
export async function sendWebhook(req: WebhookRequest): Promise<WebhookResponse> {
  const url = new URL(req.url);
  let address: ResolvedAddress;
  try {
    address = await resolveAndCheck(url, { allowPrivate: req.allowPrivate, lookup: req.lookup });
  } catch (err) {
    if (err instanceof DestinationRefused) return { kind: 'refused', reason: err.reason };
    throw err;
  }
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'Twitterprise-Webhooks/1',
    ...signWebhook(req.secret, req.id, (req.now ?? (() => new Date()))(), req.body),
  };
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<WebhookResponse>((resolve) => {
    let settled = false;
    const finish = (r: WebhookResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const request = client.request(
      {
        method: 'POST',
        host: bareHost(url),
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        headers: { ...headers, 'content-length': Buffer.byteLength(req.body) },
        // `host` stays the name (Host header, TLS SNI and certificate check); the socket goes to the pinned address.
        lookup: pinnedLookup(address),
        agent: agentFor(url, address),
      },
      (res) => {
        const location = typeof res.headers.location === 'string' ? res.headers.location : undefined;
        // The body does not matter; drain it so the socket closes.
        res.resume();
        finish({ kind: 'answered', status: res.statusCode ?? 0, ...(location ? { location } : {}) });
      },
    );
    const timer = setTimeout(() => {
      request.destroy(new Error(`no answer within ${req.timeoutMs} ms`));
    }, req.timeoutMs);
    request.on('error', (err) => finish({ kind: 'no_answer', error: err.message || String(err) }));
    request.end(req.body);
  });
}
