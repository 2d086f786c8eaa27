import { Pools } from './pools.js';
import { postForStatus } from './post-for-status.js';
import type { ResolvedAddress } from './address-guard.js';
import { signWebhook } from './webhook-signing.js';

/** One signed POST to an address the guard has already checked: all of a send but the check. */
export interface SignedPost {
  /** Parsed already on this thread; a string where it crosses to the send thread (a URL object cannot). */
  url: URL | string;
  /** The address `resolveAndCheck` approved; the socket goes only there. */
  address: ResolvedAddress;
  secret: string;
  /** `webhook-id`: the delivery id, stable across retries and re-sends. */
  id: string;
  /** The JSON body, exactly as signed. */
  body: string;
  timeoutMs: number;
  /** Signing time in ms; unset, the time of the send. Receivers compare it with their own clock (+-5 minutes). */
  at?: number;
}

export type PostAnswer =
  /** The endpoint answered (any status; redirects are answers too and are never followed). */
  | { kind: 'answered'; status: number; location?: string }
  /** No answer: connection refused or reset, timeout, TLS failure. */
  | { kind: 'no_answer'; error: string };

export type SignedPoster = (req: SignedPost) => Promise<PostAnswer>;

/**
 * A poster with keep-alive pools of its own (one per checked address and host name, `pools.ts`): the
 * process's main thread has one, and so has the send thread (`send-thread.ts`) when sends run there.
 */
export function createSignedPoster(maxPools = 1000): SignedPoster {
  const pools = new Pools(maxPools);
  return async (req) => {
    const url = typeof req.url === 'string' ? new URL(req.url) : req.url;
    const headers = {
      host: url.host,
      'content-type': 'application/json',
      'user-agent': 'Twitterprise-Webhooks/1',
      ...signWebhook(req.secret, req.id, new Date(req.at ?? Date.now()), req.body),
    };
    try {
      // Redirects are never followed: a 3xx is the answer. undici's own timers bound the wait for the
      // answer's head and body (an AbortController per request was 3% of a fan-out's CPU).
      const answer = await postForStatus(pools.for(url, req.address), { path: `${url.pathname}${url.search}`, headers, body: req.body, timeoutMs: req.timeoutMs });
      return { kind: 'answered', status: answer.status, ...(answer.location ? { location: answer.location } : {}) };
    } catch (err) {
      return { kind: 'no_answer', error: describeError(err, req.timeoutMs) };
    }
  };
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
