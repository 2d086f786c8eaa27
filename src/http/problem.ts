import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import { DomainError, httpStatusOf, type ErrorCode } from '../core/errors.js';
import type { Logger } from '../log.js';
import { tooLargeSentence } from '../web/body-limit.js';

/** Problem codes: the domain's error codes plus the few the HTTP layer adds itself. */
export type ProblemCode = ErrorCode | 'method_not_allowed' | 'unsupported_media_type' | 'internal';

const titles: Record<ProblemCode, string> = {
  invalid: 'Invalid request',
  unauthenticated: 'Authentication required',
  forbidden: 'Not permitted',
  not_found: 'Not found',
  conflict: 'Conflict',
  too_large: 'Request too large',
  rule: 'Rule broken',
  rate_limited: 'Too many requests',
  unavailable: 'Service unavailable',
  method_not_allowed: 'Method not allowed',
  unsupported_media_type: 'Unsupported media type',
  internal: 'Internal error',
};

/** Sentences the error handler answers with, shared with the API reference's examples (openapi.ts). */
export const problemSentences = {
  charset: 'The body uses a character set or encoding this server does not read; send UTF-8.',
  unavailable: 'The service cannot reach its database or queue right now; retry in a moment.',
} as const;

const statuses: Record<ProblemCode, number> = { ...httpStatusOf, method_not_allowed: 405, unsupported_media_type: 415, internal: 500 };

/** What each problem type means, served at its `type` URL (RFC 9457 section 3.1.1: the type should be documentation). */
const explanations: Record<ProblemCode, string> = {
  invalid: 'The request is malformed or a field is wrong; `detail` names the field.',
  unauthenticated: 'Send a valid API token: Authorization: Bearer tp_... (or ?token= for feeds).',
  forbidden: 'The token is valid but its owner may not do this.',
  not_found: 'No such resource, or you may not see it.',
  conflict: 'The request clashes with what exists, such as a handle that is taken.',
  too_large: 'Request bodies are limited to 64 KiB.',
  rule: 'The request is well formed but breaks a rule, such as a status longer than 1,000 characters.',
  rate_limited: 'Slow down and retry later.',
  unavailable: 'A dependency (database or Redis) is not reachable; retry later.',
  method_not_allowed: 'The path exists but does not take this method; the Allow header lists the ones it takes.',
  unsupported_media_type: 'The Content-Type is not one this endpoint reads.',
  internal: 'Something went wrong on our side; it has been logged.',
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
}

export function problemBody(publicUrl: string, code: ProblemCode, detail: string): Problem {
  return { type: `${publicUrl}/problems/${code}`, title: titles[code], status: statuses[code], detail };
}

export function sendProblem(res: Response, publicUrl: string, code: ProblemCode, detail: string): void {
  const body = problemBody(publicUrl, code, detail);
  if (code === 'unauthenticated') res.setHeader('WWW-Authenticate', 'Bearer');
  res.status(body.status).type('application/problem+json').send(JSON.stringify(body));
}

/** An HTTP-only problem (media type, ...) thrown from a handler. */
export class HttpProblem extends Error {
  constructor(
    readonly code: ProblemCode,
    message: string,
  ) {
    super(message);
    this.name = 'HttpProblem';
  }
}

const fieldName = (path: readonly PropertyKey[]) => path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[');

/** One sentence naming each wrong field: `Field "text": expected string, received number.` */
export function describeZodError(e: z.ZodError, where: 'body' | 'query' | 'path'): string {
  const noun = where === 'body' ? 'Field' : where === 'query' ? 'Query parameter' : 'Path parameter';
  const parts = e.issues.slice(0, 5).map((i) => {
    const msg = i.message.replace(/^Invalid input: /, '').replace(/\.$/, '');
    if (i.code === 'unrecognized_keys') {
      const keys = i.keys.map((k) => `"${k}"`).join(', ');
      return `${where === 'body' ? 'Unknown field' : 'Unknown parameter'}${i.keys.length > 1 ? 's' : ''} ${keys}${i.path.length ? ` in "${fieldName(i.path)}"` : ''}`;
    }
    if (!i.path.length) return where === 'body' ? `The body is wrong: ${msg}` : msg;
    return `${noun} "${fieldName(i.path)}": ${msg}`;
  });
  return `${parts.join('; ')}.`;
}

/** The path of the first string holding a NUL character (PostgreSQL text cannot store one), or null. */
export function nulPath(value: unknown, path: PropertyKey[] = [], depth = 0): PropertyKey[] | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path : null;
  if (depth > 20 || value === null || typeof value !== 'object') return null;
  for (const [k, v] of Object.entries(value)) {
    const found = nulPath(v, [...path, Array.isArray(value) ? Number(k) : k], depth + 1);
    if (found) return found;
  }
  return null;
}

/** Parses with zod; a failure becomes a 400 problem naming the field. */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown, where: 'body' | 'query' | 'path'): z.infer<T> {
  if (where === 'body' && (value === undefined || value === null)) {
    throw new DomainError('invalid', 'The body must be a JSON object (Content-Type: application/json).');
  }
  const r = schema.safeParse(value);
  if (!r.success) throw new DomainError('invalid', describeZodError(r.error, where));
  const nul = nulPath(r.data);
  if (nul) {
    const what = nul.length ? `${where === 'body' ? 'Field' : where === 'query' ? 'Query parameter' : 'Path parameter'} "${fieldName(nul)}"` : 'The value';
    throw new DomainError('invalid', `${what} may not contain NUL characters.`);
  }
  return r.data;
}

interface BodyParserError {
  type?: string;
  status?: number;
  expose?: boolean;
}

/** PostgreSQL refusing a character: NUL in text (22021), or one the encoding lacks (22P05). */
function isBadCharacter(e: unknown): boolean {
  for (let cur: unknown = e, depth = 0; cur && typeof cur === 'object' && depth < 5; cur = (cur as { cause?: unknown }).cause, depth++) {
    const code = (cur as { code?: unknown }).code;
    if (code === '22021' || code === '22P05') return true;
  }
  return false;
}

/** Client errors raised by express itself or its parsers (http-errors: `status` 4xx, `expose` true). */
function clientProblem(e: unknown): { code: ProblemCode; detail: string } | null {
  if (!e || typeof e !== 'object') return null;
  const status = (e as { status?: unknown; statusCode?: unknown }).status ?? (e as { statusCode?: unknown }).statusCode;
  if (typeof status !== 'number' || status < 400 || status > 499) return null;
  // The router decodes path parameters with decodeURIComponent and fails with a 400 URIError.
  if (e instanceof URIError) return { code: 'invalid', detail: 'The URL is not valid: it has a malformed %-escape.' };
  const code: ProblemCode =
    status === 401 ? 'unauthenticated' : status === 403 ? 'forbidden' : status === 404 ? 'not_found' : status === 413 ? 'too_large' : status === 415 ? 'unsupported_media_type' : 'invalid';
  return { code, detail: `${titles[code]}.` };
}

const codeOfDependencyError = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  // postgres.js connection errors
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  // PostgreSQL: admin shutdown, crash shutdown, cannot connect now, too many connections
  '57P01',
  '57P02',
  '57P03',
  '53300',
]);

/** True when the error (or one it wraps) says PostgreSQL or Redis is unreachable. */
export function isDependencyDown(e: unknown): boolean {
  for (let cur: unknown = e, depth = 0; cur && typeof cur === 'object' && depth < 5; cur = (cur as { cause?: unknown }).cause, depth++) {
    const c = cur as { code?: unknown; name?: unknown; message?: unknown };
    if (typeof c.code === 'string' && codeOfDependencyError.has(c.code)) return true;
    if (c.name === 'MaxRetriesPerRequestError') return true;
    if (typeof c.message === 'string' && /^Connection is closed\.?$/.test(c.message)) return true;
  }
  return false;
}

/** Maps anything thrown to a problem: domain errors, body-parser errors, dependencies down, the rest 500. */
export function errorHandler(publicUrl: string, log: Logger): ErrorRequestHandler {
  return (err: unknown, req: Request, res: Response, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    // The message alone: a DomainError's usage ("Try: whois @handle") is a chat command, shown only in chat.
    if (err instanceof DomainError) return sendProblem(res, publicUrl, err.code, err.message);
    if (err instanceof HttpProblem) return sendProblem(res, publicUrl, err.code, err.message);
    const bp = err as BodyParserError;
    if (bp && typeof bp === 'object' && typeof bp.type === 'string' && typeof bp.status === 'number') {
      switch (bp.type) {
        case 'entity.parse.failed':
          return sendProblem(res, publicUrl, 'invalid', 'The body is not valid JSON.');
        case 'entity.too.large':
          return sendProblem(res, publicUrl, 'too_large', tooLargeSentence());
        case 'encoding.unsupported':
        case 'charset.unsupported':
          return sendProblem(res, publicUrl, 'unsupported_media_type', problemSentences.charset);
        case 'request.aborted':
        case 'request.size.invalid':
          return sendProblem(res, publicUrl, 'invalid', 'The body did not arrive completely.');
      }
    }
    const client = clientProblem(err);
    if (client) return sendProblem(res, publicUrl, client.code, client.detail);
    if (isBadCharacter(err)) return sendProblem(res, publicUrl, 'invalid', 'Text may not contain NUL characters.');
    if (isDependencyDown(err)) {
      log.error({ err, method: req.method }, 'dependency unavailable');
      return sendProblem(res, publicUrl, 'unavailable', problemSentences.unavailable);
    }
    log.error({ err, method: req.method }, 'unexpected error');
    sendProblem(res, publicUrl, 'internal', 'Something went wrong on our side; it has been logged.');
  };
}

/** NUL cannot be stored in PostgreSQL text and has no business in a URL: refuse it before any handler. */
export function refuseNulInUrl(): RequestHandler {
  return (req, _res, next) => {
    if (/%00/i.test(req.originalUrl) || req.originalUrl.includes('\u0000')) next(new HttpProblem('invalid', 'The URL may not contain NUL characters (%00).'));
    else next();
  };
}

export function notFoundHandler(publicUrl: string): RequestHandler {
  return (req, res) => sendProblem(res, publicUrl, 'not_found', `There is no ${req.method} ${req.path.slice(0, 200)} endpoint.`);
}

/** GET /problems/:code — the documentation each problem's `type` points at. */
export const problemDocs: RequestHandler = (req, res, next) => {
  const code = req.params.code as ProblemCode | undefined;
  if (!code || !Object.hasOwn(titles, code)) {
    next();
    return;
  }
  res.type('text/plain').send(`${titles[code]} (HTTP ${statuses[code]})\n\n${explanations[code]}\n`);
};
