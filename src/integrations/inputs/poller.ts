import { applyCalendarPoll, applyFeedPoll, inputForPoll, recordPollFailure, urlGuardOf, type ApplyResult, type FetchMeta, type InputRow, type UrlGuard } from '../../app/inputs.js';
import type { AppContext } from '../../app/context.js';
import { guardedFetch, type FetchOutcome } from '../../net/guarded-fetch.js';
import { parseCalendarDocument } from './calendar.js';
import { UnreadableDocument } from './decode.js';
import { parseFeedDocument } from './feed.js';

/**
 * One poll of one input for one due time (a BullMQ job of the sweeper's queue): fetch through the
 * guard, parse, and hand the result to the use case that applies it in one transaction. Every outcome
 * (a bad document, a refused redirect, a 410) ends as a state and a `last_error`, never as a crash; an
 * unexpected error (the database away) throws, and the job is retried.
 */

export interface PollerOptions {
  ctx: AppContext;
  guard?: UrlGuard;
  timeoutMs?: number;
  maxBytes?: number;
}

export type PollJob = { inputId: string; due: Date };
export type PollOutcome = ApplyResult | 'missing';

const ACCEPT = {
  feed: 'application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5',
  calendar: 'text/calendar, */*;q=0.5',
};
/** A calendar reads its document whole at least this often, so occurrences entering the window are seen behind a run of 304s. */
const CALENDAR_REREAD_MS = 12 * 3600 * 1000;

const statusLine = (status: number) =>
  ({ 404: '404 Not Found', 410: '410 Gone', 429: '429 Too Many Requests', 500: '500 Internal Server Error', 502: '502 Bad Gateway', 503: '503 Service Unavailable' })[status] ??
  `HTTP ${status}`;

export function createInputPoller(opts: PollerOptions): (job: PollJob) => Promise<PollOutcome> {
  const { ctx } = opts;
  const guard = opts.guard ?? urlGuardOf(ctx.config);
  const log = ctx.log.child({ name: 'inputs' });

  const fetchFor = (row: InputRow, now: Date): Promise<FetchOutcome> => {
    const reread = row.kind === 'calendar' && (!row.parsedAt || now.getTime() - row.parsedAt.getTime() >= CALENDAR_REREAD_MS);
    const conditional = row.baselined && !reread;
    return guardedFetch(row.url, {
      policy: guard.policy,
      ...(guard.lookup ? { lookup: guard.lookup } : {}),
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
      ...(opts.maxBytes ? { maxBytes: opts.maxBytes } : {}),
      accept: ACCEPT[row.kind],
      etag: conditional ? row.etag : null,
      lastModified: conditional ? row.lastModified : null,
    });
  };

  return async ({ inputId, due }) => {
    const row = await inputForPoll(ctx.db, inputId);
    if (!row || row.state === 'disabled') return 'missing';
    const now = ctx.clock.now();
    // A calendar wakes for its reminders between fetches: then nothing is fetched.
    if (row.kind === 'calendar' && row.nextFetchAt > now && row.baselined) {
      return applyCalendarPoll(ctx, { inputId, due, meta: null, fetched: false, occurrences: null });
    }
    const res = await fetchFor(row, now);
    const fail = (error: string, extra: { retryAfterMs?: number | undefined; gone?: boolean; permanentUrl?: string | undefined } = {}) => {
      log.info({ inputId, url: row.url, error }, 'input poll failed');
      return recordPollFailure(ctx, { inputId, due, error, ...extra });
    };
    switch (res.kind) {
      case 'refused':
        return fail(`refused: ${res.reason}`);
      case 'failed':
        return fail(res.error);
      case 'http_error':
        return fail(`${statusLine(res.status)} from ${res.url}`, {
          permanentUrl: res.permanentUrl,
          gone: res.status === 410,
          ...((res.status === 429 || res.status === 503) && res.retryAfterMs !== undefined ? { retryAfterMs: res.retryAfterMs } : {}),
        });
      case 'not_modified': {
        const meta: FetchMeta = { etag: res.etag, lastModified: res.lastModified, permanentUrl: res.permanentUrl };
        return row.kind === 'feed'
          ? applyFeedPoll(ctx, { inputId, due, meta, feed: null })
          : applyCalendarPoll(ctx, { inputId, due, meta, fetched: true, occurrences: null });
      }
      case 'ok': {
        const meta: FetchMeta = { etag: res.etag, lastModified: res.lastModified, permanentUrl: res.permanentUrl };
        try {
          if (row.kind === 'feed') return await applyFeedPoll(ctx, { inputId, due, meta, feed: parseFeedDocument(res.body, res.contentType) });
          const occurrences = parseCalendarDocument(res.body, res.contentType, { now: ctx.clock.now(), tz: row.tz ?? 'UTC' });
          return await applyCalendarPoll(ctx, { inputId, due, meta, fetched: true, occurrences });
        } catch (e) {
          if (e instanceof UnreadableDocument) return fail(e.message, { permanentUrl: res.permanentUrl });
          throw e;
        }
      }
    }
  };
}
