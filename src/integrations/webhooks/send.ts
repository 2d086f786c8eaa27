import { Pools } from '../../net/pools.js';
import { postForStatus } from '../../net/post-for-status.js';
import { DestinationRefused, NameNotResolved, resolveAndCheck, type LookupFn, type ResolvedAddress } from '../../net/address-guard.js';
import { signWebhook } from '../../net/webhook-signing.js';

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
  /** No answer: the name did not resolve, connection refused or reset, timeout, TLS failure. */
  | { kind: 'no_answer'; error: string }
  /** Not sent: the host resolves to an address we may not call. */
  | { kind: 'refused'; reason: string };

/** The process's keep-alive pools, one per checked address and host name (`pools.ts`). */
const pools = new Pools(1000);

/** POSTs one signed event. Resolves and checks the host on every call (DNS may have changed). */
export async function sendWebhook(req: WebhookRequest): Promise<WebhookResponse> {
  const url = new URL(req.url);
  let address: ResolvedAddress;
  try {
    address = await resolveAndCheck(url, { allowPrivate: req.allowPrivate, lookup: req.lookup });
  } catch (err) {
    if (err instanceof NameNotResolved) return { kind: 'no_answer', error: err.reason };
    if (err instanceof DestinationRefused) return { kind: 'refused', reason: err.reason };
    throw err;
  }
  const headers = {
    host: url.host,
    'content-type': 'application/json',
    'user-agent': 'Twitterprise-Webhooks/1',
    ...signWebhook(req.secret, req.id, (req.now ?? (() => new Date()))(), req.body),
  };
  try {
    // Redirects are never followed: a 3xx is the answer. undici's own timers bound the wait for the
    // answer's head and body (an AbortController per request was 3% of a fan-out's CPU).
    const answer = await postForStatus(pools.for(url, address), { path: `${url.pathname}${url.search}`, headers, body: req.body, timeoutMs: req.timeoutMs });
    return { kind: 'answered', status: answer.status, ...(answer.location ? { location: answer.location } : {}) };
  } catch (err) {
    return { kind: 'no_answer', error: describeError(err, req.timeoutMs) };
  }
}

/** A sentence for a failed send; undici reports a dropped connection as UND_ERR_SOCKET ("other side closed"). */
function describeError(err: unknown, timeoutMs: number): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? (err.cause as Error & { code?: string }) : null;
  const code = (err as { code?: string }).code ?? cause?.code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return `no answer within ${timeoutMs} ms`;
  if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET') return 'connection reset or closed before an answer (ECONNRESET)';
  if (code === 'ECONNREFUSED') return 'connection refused (ECONNREFUSED)';
  return code && !err.message.includes(code) ? `${err.message} (${code})` : err.message || String(err);
}
