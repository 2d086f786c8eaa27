import type { SendOutcome } from '../../pipeline/messenger.js';

/**
 * Errors from botbuilder's ConnectorClient are @azure/core-rest-pipeline RestErrors: `statusCode`,
 * `code` (the Bot Connector's `error.code`, e.g. `ConversationBlockedByUser`) and `response.headers`.
 * Read by shape, so that no Azure type leaks out of this folder.
 */
interface RestErrorLike {
  statusCode?: number;
  code?: string;
  message?: string;
  response?: { headers?: { get?(name: string): string | undefined } };
}

export function statusOf(err: unknown): number | undefined {
  const s = (err as RestErrorLike | null)?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

/** Retry-After in milliseconds: delta-seconds or an HTTP date (RFC 9110 section 10.2.3). */
export function retryAfterMs(err: unknown, now = Date.now()): number | undefined {
  const raw = (err as RestErrorLike | null)?.response?.headers?.get?.('retry-after');
  if (!raw) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(raw)) return Math.round(Number(raw) * 1000);
  const at = Date.parse(raw);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

const describe = (err: unknown) => {
  const e = err as RestErrorLike | null;
  const status = statusOf(err);
  return [status ? `Teams answered ${status}` : 'Teams send failed', e?.code, e?.message].filter(Boolean).join(': ').slice(0, 500);
};

/**
 * What a failed Bot Connector call means for a delivery. botbuilder's HTTP pipeline has already retried
 * 429 (after Retry-After) and 5xx up to three times when this runs, so what is left goes back to the queue.
 * Teams documents 412, 429, 502 and 504 as transient (https://learn.microsoft.com/microsoftteams/platform/bots/how-to/rate-limit).
 */
export function outcomeOf(err: unknown): SendOutcome {
  const status = statusOf(err);
  const error = describe(err);
  if (status === 429) {
    const after = retryAfterMs(err);
    return after === undefined ? { kind: 'retry', error } : { kind: 'retry', error, retryAfterMs: after };
  }
  if (status === 412 || status === 408 || (status !== undefined && status >= 500)) return { kind: 'retry', error };
  // The bot was removed from the team or chat, uninstalled, or blocked by the person.
  if (status === 403) return { kind: 'skip', reason: `${error} (the bot was removed or blocked)` };
  // The conversation no longer exists (deleted chat, deleted channel).
  if (status === 404) return { kind: 'skip', reason: `${error} (conversation not found)` };
  // 400 (a payload Teams refuses), 401 (bad bot credentials): trying again will not help.
  if (status !== undefined) return { kind: 'fail', reason: error };
  // No HTTP answer at all: connection refused or reset, timeouts, token acquisition. These pass.
  return { kind: 'retry', error };
}
