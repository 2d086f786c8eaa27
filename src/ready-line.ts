import type { Config } from './config.js';
import { slackMode } from './integrations/slack/mode.js';

/** What the process is: `npm start` runs both sides in one process. */
export type ReadyRole = 'web' | 'worker' | 'all';

/** What only the running process knows: where it listens and what it ended up connected to. */
export interface ReadyFacts {
  /** The port the HTTP server listens on (web and all); null for a worker. */
  port: number | null;
  /** How Redis is reached, credential-free (e.g. `127.0.0.1:6379`, `private redis-server on data/redis/redis.sock`). */
  redis: string;
}

/** A PostgreSQL URL as host:port/database, never its user or password. */
function describePostgres(databaseUrl: string): string {
  try {
    const u = new URL(databaseUrl);
    const db = decodeURIComponent(u.pathname.replace(/^\//, ''));
    return `PostgreSQL ${u.hostname || 'localhost'}:${u.port || '5432'}${db ? `/${db}` : ''}`;
  } catch {
    return 'PostgreSQL';
  }
}

function describeSlack(config: Config): string {
  switch (slackMode(config)) {
    case 'token':
      return 'one workspace';
    case 'oauth':
      return 'any workspace (OAuth install)';
    case 'socket':
      return 'one workspace (Socket Mode)';
    default:
      return 'off';
  }
}

function describeTeams(config: Config): string {
  const t = config.teams;
  if (!t.appId) return 'local, no auth';
  return `app ${t.appId} (${t.appType})`;
}

function describeEmail(config: Config): string {
  const smtp = config.email.smtpUrl;
  if (!smtp) return `.eml files in ${config.email.outboxDir}`;
  try {
    const u = new URL(smtp);
    return `SMTP ${u.hostname}${u.port ? `:${u.port}` : ''}`;
  } catch {
    return 'SMTP';
  }
}

/** XMPP (SPEC §8): `off`, or `<component domain> via <host:port>` (`tp.example.com via 127.0.0.1:5347`). */
function describeXmpp(config: Config): string {
  return config.xmpp ? `${config.xmpp.domain} via ${config.xmpp.service.replace(/^xmpp:\/\//, '')}` : 'off';
}

/** SMS (SPEC §9): `off`, or `<provider> <sending number>` (`twilio +15551234567`). */
function describeSms(config: Config): string {
  return config.sms ? `${config.sms.provider} ${config.sms.twilio.from}` : 'off';
}

/** The parts inside the ready line's parentheses, in the order of SPEC §6. */
export function readyParts(config: Config, role: ReadyRole, facts: ReadyFacts): string[] {
  return [
    role === 'all' ? 'web+worker' : role,
    `database: ${config.databaseUrl ? describePostgres(config.databaseUrl) : `PGlite ${config.pgliteDir}`}`,
    `redis: ${facts.redis}`,
    `slack: ${describeSlack(config)}`,
    `teams: ${describeTeams(config)}`,
    `email: ${describeEmail(config)}`,
    `xmpp: ${describeXmpp(config)}`,
    `sms: ${describeSms(config)}`,
  ];
}

/**
 * The one line a process prints when it is ready (SPEC §6), e.g. `Twitterprise ready on
 * http://localhost:3000 (web+worker; database: PGlite ./data/pglite; redis: 127.0.0.1:6379; ...)`.
 */
export function readyLine(config: Config, role: ReadyRole, facts: ReadyFacts): string {
  const where = facts.port === null ? '' : ` on http://localhost:${facts.port}`;
  return `Twitterprise ready${where} (${readyParts(config, role, facts).join('; ')})`;
}
