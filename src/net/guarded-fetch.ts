import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { DestinationRefused, NameNotResolved, resolveAndCheck, type AddressPolicy, type LookupFn, type ResolvedAddress } from './address-guard.js';
import { Pools } from './pools.js';

/**
 * GET a user-given URL the careful way (feed and calendar polls): every hop, redirects included, is
 * resolved, checked by the address policy and connected to exactly the checked address; redirects are
 * followed by hand (each hop checked again; a chain of 301/308 is reported so the stored URL can move);
 * one deadline for the whole exchange; the body is capped after decompression, read as a stream so a
 * gzip bomb stops at the cap instead of being inflated whole; conditional GET with the stored validators.
 */
export interface GuardedFetchOptions {
  policy: AddressPolicy;
  lookup?: LookupFn;
  /** The whole exchange, every hop and the body included (default 10 s). */
  timeoutMs?: number;
  /** Most bytes of body after decompression (default 5 MiB). */
  maxBytes?: number;
  /** Most redirects followed (default 5). */
  maxRedirects?: number;
  etag?: string | null;
  lastModified?: string | null;
  accept?: string;
  userAgent?: string;
  /** Connection pools (default: one set for the process). */
  pools?: Pools;
}

interface Where {
  /** The URL that finally answered. */
  url: string;
  /** Set when every hop up to some URL was a permanent redirect (301/308): the URL to store from now on. */
  permanentUrl?: string;
}

export type FetchOutcome =
  | (Where & { kind: 'ok'; status: number; body: Buffer; contentType?: string; etag?: string; lastModified?: string })
  | (Where & { kind: 'not_modified'; etag?: string; lastModified?: string })
  /** A final answer that is neither 2xx nor 304 (404, 410, 429, 500...). */
  | (Where & { kind: 'http_error'; status: number; retryAfterMs?: number })
  /** The guard refused a hop: private address, a scheme other than http(s). */
  | { kind: 'refused'; reason: string }
  /** No usable answer: name not resolved, connection refused, timeout, body over the cap, redirect loop. */
  | { kind: 'failed'; error: string };

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_BYTES = 5 * 1024 * 1024;

const sharedPools = new Pools(200);

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

class TooLarge extends Error {}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Retry-After as milliseconds from now: delay-seconds or an HTTP date (RFC 9110 section 10.2.3). */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Drops a body not read to its end (undici reports the abort as an error nobody else listens to). */
function discard(body: Readable): void {
  body.on('error', () => undefined);
  body.destroy();
}

const mib = (n: number) => `${Math.round((n / 1024 / 1024) * 10) / 10} MiB`;

/** Reads a body (decompressing it by its Content-Encoding) up to `max` bytes; more throws TooLarge. */
async function readCapped(body: Readable, encoding: string | undefined, max: number): Promise<Buffer> {
  const enc = (encoding ?? 'identity').trim().toLowerCase();
  let source: Readable = body;
  if (enc === 'gzip' || enc === 'x-gzip') source = body.pipe(createGunzip());
  else if (enc === 'deflate') source = body.pipe(createInflate());
  else if (enc === 'br') source = body.pipe(createBrotliDecompress());
  else if (enc !== 'identity' && enc !== '') throw new Error(`unsupported Content-Encoding ${enc}`);
  if (source !== body) body.on('error', (e) => source.destroy(e));
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of source) {
      const b = chunk as Buffer;
      size += b.length;
      // Stop at once: the decompressor is pulled chunk by chunk, so nothing past this is ever inflated.
      if (size > max) throw new TooLarge();
      chunks.push(b);
    }
  } finally {
    if (size > max || !source.readableEnded) {
      discard(source);
      if (source !== body) discard(body);
    }
  }
  return Buffer.concat(chunks, size);
}

function describe(err: unknown, timeoutMs: number, timedOut: boolean): string {
  if (timedOut) return `no answer within ${timeoutMs / 1000} s`;
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? (err.cause as Error & { code?: string }) : null;
  const code = (err as { code?: string }).code ?? cause?.code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return `no answer within ${timeoutMs / 1000} s`;
  if (code === 'ECONNREFUSED') return 'connection refused (ECONNREFUSED)';
  if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET') return 'connection reset or closed before an answer (ECONNRESET)';
  if (code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR' || code === 'ERR__ERROR_FORMAT_PADDING_1') return `the compressed body is corrupt (${code})`;
  return code && !err.message.includes(code) ? `${err.message} (${code})` : err.message || String(err);
}

export async function guardedFetch(startUrl: string, opts: GuardedFetchOptions): Promise<FetchOutcome> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxRedirects = opts.maxRedirects ?? 5;
  const pools = opts.pools ?? sharedPools;
  const abort = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    abort.abort();
  }, timeoutMs);
  timer.unref();

  let url: URL;
  try {
    url = new URL(startUrl);
  } catch {
    clearTimeout(timer);
    return { kind: 'refused', reason: `${startUrl} is not a URL` };
  }
  let permanent = true;
  let permanentUrl: string | undefined;
  const where = (): Where => ({ url: url.href, ...(permanentUrl ? { permanentUrl } : {}) });

  try {
    for (let hop = 0; ; hop++) {
      let address: ResolvedAddress;
      try {
        address = await resolveAndCheck(url, { policy: opts.policy, ...(opts.lookup ? { lookup: opts.lookup } : {}) });
      } catch (err) {
        if (err instanceof NameNotResolved) return { kind: 'failed', error: err.reason };
        if (err instanceof DestinationRefused) return { kind: 'refused', reason: hop ? `redirect to ${url.href} refused: ${err.reason}` : err.reason };
        throw err;
      }
      const headers: Record<string, string> = {
        host: url.host,
        accept: opts.accept ?? '*/*',
        'accept-encoding': 'gzip, deflate, br',
        'user-agent': opts.userAgent ?? 'Twitterprise-Inputs/1',
      };
      if (opts.etag) headers['if-none-match'] = opts.etag;
      if (opts.lastModified) headers['if-modified-since'] = opts.lastModified;
      const res = await pools.for(url, address).request({
        method: 'GET',
        path: `${url.pathname}${url.search}`,
        headers,
        signal: abort.signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const h = res.headers;
      const status = res.statusCode;
      const location = header(h, 'location');
      if (REDIRECTS.has(status) && location) {
        await res.body.dump().catch(() => undefined);
        if (hop >= maxRedirects) return { kind: 'failed', error: `more than ${maxRedirects} redirects` };
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          return { kind: 'failed', error: `redirect to an invalid URL (${location})` };
        }
        url = next;
        if (permanent && (status === 301 || status === 308)) permanentUrl = url.href;
        else permanent = false;
        continue;
      }
      const etag = header(h, 'etag');
      const lastModified = header(h, 'last-modified');
      const validators = { ...(etag ? { etag } : {}), ...(lastModified ? { lastModified } : {}) };
      if (status === 304) {
        await res.body.dump().catch(() => undefined);
        return { kind: 'not_modified', ...where(), ...validators };
      }
      if (status < 200 || status > 299) {
        await res.body.dump().catch(() => undefined);
        const retryAfterMs = parseRetryAfter(header(h, 'retry-after'));
        return { kind: 'http_error', ...where(), status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
      }
      const declared = Number(header(h, 'content-length'));
      const encoding = header(h, 'content-encoding');
      if (Number.isFinite(declared) && declared > maxBytes && (!encoding || encoding === 'identity')) {
        discard(res.body);
        return { kind: 'failed', error: `the body is larger than ${mib(maxBytes)}` };
      }
      let body: Buffer;
      try {
        body = await readCapped(res.body, encoding, maxBytes);
      } catch (err) {
        if (err instanceof TooLarge) return { kind: 'failed', error: `the body is larger than ${mib(maxBytes)}${encoding ? ' once decompressed' : ''}` };
        throw err;
      }
      const contentType = header(h, 'content-type');
      return { kind: 'ok', ...where(), status, body, ...(contentType ? { contentType } : {}), ...validators };
    }
  } catch (err) {
    return { kind: 'failed', error: describe(err, timeoutMs, timedOut) };
  } finally {
    clearTimeout(timer);
  }
}
