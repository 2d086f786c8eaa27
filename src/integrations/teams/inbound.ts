import { AsyncLocalStorage } from 'node:async_hooks';
import type { Activity, ConfigurationBotFrameworkAuthentication, TurnContext } from 'botbuilder';
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Logger } from '../../log.js';
import type { TeamsCloudAdapter } from './adapter.js';
import { localOnlyRefusal } from './local-only.js';

/**
 * `POST /api/messages` in the order a security reviewer wants it (docs/security.md, classes 4 and 5):
 *
 * 1. The token, before anything in the body is believed. No Authorization header, or a token
 *    botbuilder does not accept (signature, issuer, audience = our app id, key endorsed for `msteams`,
 *    and the `serviceurl` claim equal to the body's serviceUrl): 401 problem+json, and ONE warning line
 *    per refusal, at most `REFUSAL_LINES_PER_MINUTE` a minute (a flood of forged tokens cannot flood
 *    the log). Microsoft's keys not reachable: 503 problem+json, the sender retries.
 * 2. The activity's shape (zod, `inboundActivity`): 400 problem+json naming the field. Bodies like `{}`,
 *    `{"type":5}` or `{"type":null}` never reach botbuilder, which would throw outside its own handling.
 * 3. botbuilder runs the turn with the result of step 1 (`runAuthenticated`: processActivity with an
 *    AuthenticateRequestResult), so `CloudAdapter.process` and its `console.error(err)` stack traces
 *    are never used: what we log, we log through pino.
 * With MICROSOFT_APP_ID empty, step 1 is the local-only rule (local-only.ts) instead.
 */

const account = z.looseObject({ id: z.string().min(1) });

/** What botbuilder and our bot need of any activity before they touch it; the bot reads the rest itself (activity.ts). */
export const inboundActivity = z.looseObject({
  type: z.string().min(1).max(100),
  channelId: z.string().min(1).max(100),
  serviceUrl: z.url({ protocol: /^https?$/ }),
  conversation: z.looseObject({ id: z.string().min(1) }),
  from: account,
  recipient: account,
  id: z.string().optional(),
  timestamp: z.string().optional(),
  localTimestamp: z.string().optional(),
  expiration: z.string().optional(),
});

export const REFUSAL_LINES_PER_MINUTE = 10;

type AuthResult = Awaited<ReturnType<ConfigurationBotFrameworkAuthentication['authenticateRequest']>>;

export interface InboundDeps {
  adapter: TeamsCloudAdapter;
  auth: ConfigurationBotFrameworkAuthentication;
  authDisabled: boolean;
  log: Logger;
  publicUrl: string;
  bot: (turn: TurnContext) => Promise<void>;
}

const PROBLEMS = {
  unauthenticated: { title: 'Authentication required', status: 401 },
  invalid: { title: 'Invalid request', status: 400 },
  unavailable: { title: 'Service unavailable', status: 503 },
} as const;

function problem(res: Response, publicUrl: string, code: keyof typeof PROBLEMS, detail: string): void {
  const { title, status } = PROBLEMS[code];
  res.status(status).type('application/problem+json').send(JSON.stringify({ type: `${publicUrl}/problems/${code}`, title, status, detail }));
}

/**
 * One warning line per refused request, at most `perMinute` lines a minute; the lines not written are
 * counted and said in one line when the next minute starts.
 */
export function refusalLogger(log: Logger, perMinute = REFUSAL_LINES_PER_MINUTE, now: () => number = Date.now): (fields: Record<string, unknown>, msg: string) => void {
  let windowStart = -Infinity;
  let written = 0;
  let suppressed = 0;
  return (fields, msg) => {
    const t = now();
    if (t - windowStart >= 60_000) {
      if (suppressed > 0) log.warn({ suppressed }, `${suppressed} more refused Teams requests were not logged in the last minute`);
      windowStart = t;
      written = 0;
      suppressed = 0;
    }
    if (written < perMinute) {
      written += 1;
      log.warn(fields, msg);
    } else {
      suppressed += 1;
    }
  };
}

/**
 * botbuilder's token check (JwtTokenExtractor) prints every rejected token with console.error, stack and
 * public keys included, before it throws. Calls made inside a token check (known by their async
 * context, so nothing else is caught) go to pino at debug level instead; any other call is untouched.
 */
const inTokenCheck = new AsyncLocalStorage<Logger>();
let consoleRouted = false;

function routeBotbuilderConsole(): void {
  if (consoleRouted) return;
  consoleRouted = true;
  /* eslint-disable no-console -- the one place that intercepts a library's console output */
  const original = console.error.bind(console);
  console.error = (...args: unknown[]) => {
    const log = inTokenCheck.getStore();
    if (!log) return original(...args);
    const said = args.map((a) => (a instanceof Error ? `${a.name}: ${a.message}` : String(a))).join(' ');
    log.debug({ said: said.slice(0, 200) }, 'botbuilder token check said');
  };
  /* eslint-enable no-console */
}

/** botbuilder's AuthenticationError carries the HTTP status it means: 401 for a bad token, 500 when the keys could not be loaded. */
function statusOf(err: unknown): number | undefined {
  const s = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

/** What CloudAdapter.process does to timestamps (validateAndFixActivity), which we no longer call. */
function fixTimestamps(a: Record<string, unknown>): Activity {
  for (const [field, raw] of [
    ['timestamp', 'rawTimestamp'],
    ['localTimestamp', 'rawLocalTimestamp'],
    ['expiration', 'rawExpiration'],
  ] as const) {
    const v = a[field];
    if (typeof v === 'string') {
      a[raw] = v;
      a[field] = new Date(v);
    }
  }
  return a as unknown as Activity;
}

/**
 * express.json, except that a body that is not JSON does not end the request before the token is
 * checked: it is remembered as not JSON (400 after the token). Over 64 KiB is 413 at once (SPEC section 3).
 */
export function jsonBody(publicUrl: string): (req: Request, res: Response, next: NextFunction) => void {
  const parse = express.json({ limit: '64kb', strict: false });
  return (req, res, next) => {
    parse(req, res, (err?: unknown) => {
      if (!err) return next();
      if ((err as { type?: unknown }).type === 'entity.too.large') {
        res.status(413).type('application/problem+json').send(JSON.stringify({ type: `${publicUrl}/problems/too_large`, title: 'Request too large', status: 413, detail: 'Request bodies are limited to 64 KiB.' }));
        return;
      }
      req.body = undefined;
      next();
    });
  };
}

export function messagesHandler(deps: InboundDeps): (req: Request, res: Response) => Promise<void> {
  const { adapter, auth, authDisabled, log, publicUrl, bot } = deps;
  const refused = refusalLogger(log);
  routeBotbuilderConsole();
  return async (req, res) => {
    const body: unknown = req.body;
    const bodyServiceUrl = body && typeof body === 'object' ? (body as { serviceUrl?: unknown }).serviceUrl : undefined;
    const remoteAddress = req.socket.remoteAddress;
    let authResult: AuthResult | undefined;

    if (authDisabled) {
      const refusal = localOnlyRefusal({ remoteAddress, headers: req.headers, serviceUrl: bodyServiceUrl });
      if (refusal) {
        refused({ remoteAddress }, 'unauthenticated Teams activity refused: not local');
        return problem(res, publicUrl, 'unauthenticated', refusal);
      }
    } else {
      const header = req.headers.authorization;
      if (!header?.trim()) {
        // Before any call to Microsoft's token service: scanners get a 401 and cost nothing.
        refused({ remoteAddress }, 'Teams request without a token refused');
        return problem(res, publicUrl, 'unauthenticated', 'Bot Framework requests carry a JWT in the Authorization header.');
      }
      try {
        // Only the fields the token is checked against are taken from the body, and only if they are strings.
        const claimed = { channelId: 'msteams', serviceUrl: typeof bodyServiceUrl === 'string' ? bodyServiceUrl : undefined } as Partial<Activity>;
        authResult = await inTokenCheck.run(log, () => auth.authenticateRequest(claimed as Activity, header));
      } catch (err) {
        const status = statusOf(err);
        const reason = err instanceof Error ? err.message : String(err);
        if (status !== undefined && status !== 401 && status !== 403) {
          log.warn({ remoteAddress, reason }, 'Teams token could not be checked (Bot Framework keys not reachable)');
          return problem(res, publicUrl, 'unavailable', 'The Bot Framework signing keys could not be loaded; retry later.');
        }
        refused({ remoteAddress, reason }, 'Teams request with a token we do not accept refused');
        return problem(res, publicUrl, 'unauthenticated', 'The Bot Framework token was not accepted.');
      }
    }

    const parsed = inboundActivity.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? issue.path.join('.') : 'the body';
      log.info({ remoteAddress, path: where }, 'Teams activity without the shape of an activity refused');
      return problem(res, publicUrl, 'invalid', `Not a Bot Framework activity: ${where} is missing or wrong (${issue?.message ?? 'invalid'}).`);
    }
    const activity = fixTimestamps(parsed.data);

    try {
      // With authentication off this answers an anonymous identity at once.
      authResult ??= await auth.authenticateRequest(activity, '');
      const invoke = await adapter.runAuthenticated(authResult, activity, bot);
      res.status(invoke?.status ?? 200);
      if (invoke?.body !== undefined) res.json(invoke.body);
      else res.end();
    } catch (err) {
      // The bot answers its own errors (onTurnError); this is botbuilder failing around it.
      log.error({ err, type: activity.type }, 'teams activity failed in botbuilder');
      if (!res.headersSent) problem(res, publicUrl, 'unavailable', 'The activity could not be processed; retry later.');
    }
  };
}
