import { z } from 'zod';
import { parseClusterNodes, type RedisTarget } from './redis.js';

/** A switch (true/false, 1/0, yes/no) that may be left unset or empty: undefined then, so that a default or another variable decides. */
const optionalBool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .optional()
  .transform((v) => (v === undefined || v === '' ? undefined : v === 'true' || v === '1' || v === 'yes'));

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const url = (what: string) =>
  z
    .string()
    .refine((v) => {
      try {
        new URL(v);
        return true;
      } catch {
        return false;
      }
    }, `must be a URL (${what})`);

/** A whole number in a range, with one message for every way it can be wrong. */
const wholeNumber = (min: number, max: number, fallback: number) => {
  const message = `must be a whole number from ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')}`;
  return z.coerce.number({ message }).int({ message }).min(min, { message }).max(max, { message }).default(fallback);
};

const schema = z.object({
  PORT: wholeNumber(0, 65535, 3000),
  PUBLIC_URL: optionalString.pipe(url('e.g. https://tp.example.com').optional()),
  DATABASE_URL: optionalString.pipe(url('postgres://user@host:5432/db').optional()),
  DATABASE_POOL_SIZE: wholeNumber(1, 100, 4),
  PGLITE_DIR: z.string().default('./data/pglite'),
  REDIS_URL: url('redis://host:6379').default('redis://127.0.0.1:6379'),
  REDIS_CLUSTER: optionalString.refine((v) => v === undefined || parseClusterNodes(v) !== null, 'must be host:port,host:port,... (the nodes of a Redis Cluster)'),
  QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9_{}-]+$/, 'letters, digits, _ - { } only').default('tp'),
  SLACK_SIGNING_SECRET: optionalString,
  SLACK_BOT_TOKEN: optionalString,
  SLACK_CLIENT_ID: optionalString,
  SLACK_CLIENT_SECRET: optionalString,
  SLACK_STATE_SECRET: optionalString,
  SLACK_APP_TOKEN: optionalString,
  SLACK_API_URL: url('Slack Web API base').default('https://slack.com/api/'),
  MICROSOFT_APP_ID: optionalString,
  MICROSOFT_APP_PASSWORD: optionalString,
  MICROSOFT_APP_TENANT_ID: optionalString,
  MICROSOFT_APP_TYPE: z.enum(['MultiTenant', 'SingleTenant', 'UserAssignedMSI', '']).optional(),
  SMTP_URL: optionalString.pipe(url('smtp://user:pass@host:587').optional()),
  EMAIL_FROM: z.string().min(3).default('Twitterprise <noreply@localhost>'),
  OUTBOX_DIR: z.string().default('./data/outbox'),
  // The private-address switch for outbound URLs (webhooks, inputs); WEBHOOK_ALLOW_PRIVATE is its older name.
  ALLOW_PRIVATE_URLS: optionalBool,
  WEBHOOK_ALLOW_PRIVATE: optionalBool,
  WEBHOOK_RETRY_DELAYS: z
    .string()
    .default('5,300,1800,7200,18000,36000,36000')
    .refine((v) => v.trim() === '' || v.split(',').every((p) => /^\s*\d+(\.\d+)?\s*$/.test(p)), 'comma-separated seconds, e.g. 5,300,1800')
    .transform((v) => (v.trim() === '' ? [] : v.split(',').map((p) => Math.round(Number(p) * 1000)))),
  WEBHOOK_TIMEOUT_MS: wholeNumber(1, 600_000, 10_000),
  WEBHOOK_SEND_THREAD: optionalBool,
  ADMIN_HANDLES: z
    .string()
    .default('')
    .transform((v) => v.split(/[\s,]+/).map((h) => h.replace(/^@/, '').toLowerCase()).filter((h) => h !== ''))
    .refine((hs) => hs.every((h) => /^[a-z0-9_-]{1,32}$/.test(h)), 'must be handles separated by commas, e.g. alice,bob'),
  ADMIN_TOKEN: optionalString.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
  UNSUBSCRIBE_SECRET: optionalString,
  WORKER_CONCURRENCY: wholeNumber(1, 1000, 64),
  STATUS_RATE_LIMIT: wholeNumber(0, 1_000_000, 120),
  DELIVERY_RETENTION_DAYS: wholeNumber(0, 36_500, 90),
  XMPP_SERVICE: optionalString.pipe(
    z
      .string()
      .regex(/^(xmpp|tcp):\/\/[^/\s:]+(:\d{1,5})?\/?$/, 'must be xmpp://host:port (the XMPP server\'s component port, XEP-0114)')
      .optional(),
  ),
  XMPP_DOMAIN: optionalString.pipe(
    z
      .string()
      .regex(/^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?)*$/i, 'must be a domain name, e.g. tp.example.com')
      .optional(),
  ),
  XMPP_SECRET: optionalString,
  SMS_PROVIDER: z.enum(['twilio', ''], { message: 'must be twilio (or unset: SMS off)' }).optional(),
  TWILIO_ACCOUNT_SID: optionalString.pipe(z.string().regex(/^AC[0-9a-fA-F]{32}$/, 'must be AC followed by 32 hex digits (Twilio Console, Account Info)').optional()),
  TWILIO_AUTH_TOKEN: optionalString,
  TWILIO_FROM: optionalString.pipe(z.string().regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 number, e.g. +15551234567').optional()),
  TWILIO_API_URL: url('Twilio REST API base').default('https://api.twilio.com'),
  SMS_PER_HOUR: wholeNumber(1, 10_000, 20),
  STARTUP_TIMEOUT: wholeNumber(1, 86_400, 60),
  /** Where `npm start` looks for a Redis before it starts a private one (tests move it off 6379). */
  LOCAL_REDIS_PORT: wholeNumber(1, 65535, 6379),
  SHUTDOWN_TIMEOUT: wholeNumber(1, 3600, 25),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Env = z.input<typeof schema>;

export interface Config {
  readonly port: number;
  readonly publicUrl: string;
  readonly databaseUrl: string | undefined;
  /** PostgreSQL connections per process (DATABASE_POOL_SIZE); postgres.js pipelines queries beyond them. */
  readonly databasePoolSize: number;
  readonly pgliteDir: string;
  readonly redisUrl: string;
  /** Where every Redis connection goes: REDIS_CLUSTER's nodes when set, else REDIS_URL. */
  readonly redis: RedisTarget;
  readonly queuePrefix: string;
  readonly slack: {
    readonly signingSecret: string | undefined;
    readonly botToken: string | undefined;
    readonly clientId: string | undefined;
    readonly clientSecret: string | undefined;
    readonly stateSecret: string | undefined;
    readonly appToken: string | undefined;
    readonly apiUrl: string;
  };
  readonly teams: {
    readonly appId: string | undefined;
    readonly appPassword: string | undefined;
    readonly tenantId: string | undefined;
    readonly appType: 'MultiTenant' | 'SingleTenant' | 'UserAssignedMSI';
  };
  readonly email: { readonly smtpUrl: string | undefined; readonly from: string; readonly outboxDir: string };
  /** Outbound URLs (webhooks, inputs): private, loopback and link-local addresses allowed (ALLOW_PRIVATE_URLS). */
  readonly net: { readonly allowPrivateUrls: boolean };
  /** `sendThread`: webhook sends signed and written on a worker thread of their own (WEBHOOK_SEND_THREAD, net/send-lane.ts). */
  readonly webhooks: { readonly retryDelaysMs: readonly number[]; readonly timeoutMs: number; readonly sendThread: boolean };
  readonly adminToken: string | undefined;
  /** ADMIN_HANDLES: people who are always administrators (console and API); `admin revoke` cannot demote them. */
  readonly adminHandles: readonly string[];
  /** Signs one-click unsubscribe links; unset, a random key generated on first start and kept in the database is used (integrations/email/unsubscribe-keys.ts). */
  readonly unsubscribeSecret: string | undefined;
  readonly workerConcurrency: number;
  /** Statuses per minute per token through the API and incoming hooks; 0 for no limit. */
  readonly statusRateLimit: number;
  /** Days a finished delivery (sent, skipped, failed) is kept, then housekeeping deletes it; 0 keeps them all. */
  readonly deliveryRetentionDays: number;
  readonly logLevel: string;
  /** Seconds a process waits at start for PostgreSQL and Redis before it exits 1 (STARTUP_TIMEOUT), in ms. */
  readonly startupTimeoutMs: number;
  /** How long SIGTERM waits for in-flight work (SHUTDOWN_TIMEOUT), in ms. */
  readonly shutdownTimeoutMs: number;
  /** The port on 127.0.0.1 where `npm start` (REDIS_URL unset) looks for a Redis before starting its own. */
  readonly localRedisPort: number;
  /** The XMPP component (SPEC section 8); null when XMPP_SERVICE, XMPP_DOMAIN and XMPP_SECRET are unset. */
  readonly xmpp: { readonly service: string; readonly domain: string; readonly secret: string } | null;
  /** SMS (SPEC section 9); null when SMS_PROVIDER is unset. `perHour`: most status texts to one number in any 60 minutes. */
  readonly sms: {
    readonly provider: 'twilio';
    readonly perHour: number;
    readonly twilio: { readonly accountSid: string; readonly authToken: string; readonly from: string; readonly apiUrl: string };
  } | null;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.join('\n')}`);
  }
}

/**
 * The rules that tie variables together. They read the raw environment, so they are reported beside
 * any malformed variable instead of only on the next start.
 */
function combinationProblems(env: Record<string, string | undefined>): string[] {
  const has = (name: string) => (env[name] ?? '').trim() !== '';
  const problems: string[] = [];
  if (has('SLACK_BOT_TOKEN') && !has('SLACK_SIGNING_SECRET') && !has('SLACK_APP_TOKEN')) {
    problems.push('SLACK_SIGNING_SECRET: required when SLACK_BOT_TOKEN is set (or set SLACK_APP_TOKEN for Socket Mode)');
  }
  if (has('SLACK_APP_TOKEN') && !has('SLACK_BOT_TOKEN')) {
    problems.push('SLACK_APP_TOKEN: Socket Mode also needs SLACK_BOT_TOKEN (it serves the one workspace of that token)');
  }
  if (has('SLACK_APP_TOKEN') && has('SLACK_CLIENT_ID')) {
    problems.push('SLACK_APP_TOKEN: Socket Mode serves one workspace and cannot take OAuth installs; unset SLACK_APP_TOKEN or SLACK_CLIENT_ID');
  }
  if (has('SLACK_CLIENT_ID') && (!has('SLACK_CLIENT_SECRET') || !has('SLACK_STATE_SECRET') || !has('SLACK_SIGNING_SECRET'))) {
    problems.push('SLACK_CLIENT_ID: multi-workspace install also needs SLACK_CLIENT_SECRET, SLACK_STATE_SECRET and SLACK_SIGNING_SECRET');
  }
  if (has('MICROSOFT_APP_ID') && !has('MICROSOFT_APP_PASSWORD') && env.MICROSOFT_APP_TYPE !== 'UserAssignedMSI') {
    problems.push('MICROSOFT_APP_PASSWORD: required when MICROSOFT_APP_ID is set');
  }
  const urls = optionalBool.safeParse(env.ALLOW_PRIVATE_URLS);
  const older = optionalBool.safeParse(env.WEBHOOK_ALLOW_PRIVATE);
  if (urls.success && older.success && urls.data !== undefined && older.data !== undefined && urls.data !== older.data) {
    problems.push(`ALLOW_PRIVATE_URLS: is ${env.ALLOW_PRIVATE_URLS} but its older name WEBHOOK_ALLOW_PRIVATE is ${env.WEBHOOK_ALLOW_PRIVATE}; set only ALLOW_PRIVATE_URLS`);
  }
  if (env.MICROSOFT_APP_TYPE === 'SingleTenant' && !has('MICROSOFT_APP_TENANT_ID')) {
    problems.push('MICROSOFT_APP_TENANT_ID: required when MICROSOFT_APP_TYPE is SingleTenant');
  }
  const xmpp = ['XMPP_SERVICE', 'XMPP_DOMAIN', 'XMPP_SECRET'];
  if (xmpp.some(has) && !xmpp.every(has)) {
    problems.push(`${xmpp.filter((n) => !has(n)).join(', ')}: XMPP needs XMPP_SERVICE, XMPP_DOMAIN and XMPP_SECRET together (or none of them: XMPP off)`);
  }
  if (has('SMS_PROVIDER') && env.SMS_PROVIDER?.trim() === 'twilio') {
    const twilio = ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'TWILIO_FROM'];
    if (!twilio.every(has)) problems.push(`${twilio.filter((n) => !has(n)).join(', ')}: SMS_PROVIDER=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM`);
  }
  return problems;
}

/** Reads and validates the environment once; every problem is reported, one line per variable. */
export function parseConfig(env: Record<string, string | undefined> = process.env): Config {
  const result = schema.safeParse(env);
  const problems = [
    ...(result.success ? [] : result.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`)),
    ...combinationProblems(env),
  ];
  if (problems.length || !result.success) throw new ConfigError(problems);
  const e = result.data;
  const publicUrl = (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '');
  return Object.freeze({
    port: e.PORT,
    publicUrl,
    databaseUrl: e.DATABASE_URL,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    pgliteDir: e.PGLITE_DIR,
    redisUrl: e.REDIS_URL,
    redis: e.REDIS_CLUSTER ? Object.freeze({ cluster: Object.freeze(parseClusterNodes(e.REDIS_CLUSTER) ?? []) }) : e.REDIS_URL,
    queuePrefix: e.QUEUE_PREFIX,
    slack: Object.freeze({
      signingSecret: e.SLACK_SIGNING_SECRET,
      botToken: e.SLACK_BOT_TOKEN,
      clientId: e.SLACK_CLIENT_ID,
      clientSecret: e.SLACK_CLIENT_SECRET,
      stateSecret: e.SLACK_STATE_SECRET,
      appToken: e.SLACK_APP_TOKEN,
      apiUrl: e.SLACK_API_URL.endsWith('/') ? e.SLACK_API_URL : `${e.SLACK_API_URL}/`,
    }),
    teams: Object.freeze({
      appId: e.MICROSOFT_APP_ID,
      appPassword: e.MICROSOFT_APP_PASSWORD,
      tenantId: e.MICROSOFT_APP_TENANT_ID,
      appType: e.MICROSOFT_APP_TYPE || 'MultiTenant',
    }),
    email: Object.freeze({ smtpUrl: e.SMTP_URL, from: e.EMAIL_FROM, outboxDir: e.OUTBOX_DIR }),
    net: Object.freeze({ allowPrivateUrls: e.ALLOW_PRIVATE_URLS ?? e.WEBHOOK_ALLOW_PRIVATE ?? false }),
    webhooks: Object.freeze({
      retryDelaysMs: Object.freeze(e.WEBHOOK_RETRY_DELAYS),
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      sendThread: e.WEBHOOK_SEND_THREAD ?? true,
    }),
    adminToken: e.ADMIN_TOKEN,
    adminHandles: Object.freeze([...new Set(e.ADMIN_HANDLES)]),
    unsubscribeSecret: e.UNSUBSCRIBE_SECRET,
    workerConcurrency: e.WORKER_CONCURRENCY,
    statusRateLimit: e.STATUS_RATE_LIMIT,
    deliveryRetentionDays: e.DELIVERY_RETENTION_DAYS,
    logLevel: e.LOG_LEVEL,
    startupTimeoutMs: e.STARTUP_TIMEOUT * 1000,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT * 1000,
    localRedisPort: e.LOCAL_REDIS_PORT,
    xmpp:
      e.XMPP_SERVICE && e.XMPP_DOMAIN && e.XMPP_SECRET
        ? Object.freeze({ service: e.XMPP_SERVICE.replace(/^tcp:/, 'xmpp:').replace(/\/$/, ''), domain: e.XMPP_DOMAIN.toLowerCase(), secret: e.XMPP_SECRET })
        : null,
    sms:
      e.SMS_PROVIDER === 'twilio' && e.TWILIO_ACCOUNT_SID && e.TWILIO_AUTH_TOKEN && e.TWILIO_FROM
        ? Object.freeze({
            provider: 'twilio' as const,
            perHour: e.SMS_PER_HOUR,
            twilio: Object.freeze({ accountSid: e.TWILIO_ACCOUNT_SID, authToken: e.TWILIO_AUTH_TOKEN, from: e.TWILIO_FROM, apiUrl: e.TWILIO_API_URL.replace(/\/+$/, '') }),
          })
        : null,
  });
}
