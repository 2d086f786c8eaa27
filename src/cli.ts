import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { z } from 'zod';
import { grantAdmin, revokeAdmin } from './app/admins.js';
import type { AppContext } from './app/context.js';
import { createInput } from './app/inputs.js';
import { createPerson, requireSource } from './app/people.js';
import { createService } from './app/services.js';
import { createApiToken, createHookUrl } from './app/tokens.js';
import { ConfigError, parseConfig, type Config } from './config.js';
import { systemClock } from './core/clock.js';
import { DomainError, describeError } from './core/errors.js';
import { everySchema, inputKindSchema, remindSchema, tzSchema } from './core/inputs.js';
import { migrateDatabase, openDatabase, type Database } from './db/client.js';
import { isDependencyDown } from './http/problem.js';
import { sendDueDigests } from './integrations/email/index.js';
import { describeDatabaseError } from './runtime/dependencies.js';
import { FolderLockedError, lockFolder, type FolderLock } from './runtime/folder-lock.js';

const USAGE = `Usage: twitterprise <command>

  migrate                                             apply database migrations
  person create <handle> <name> <email>               create a person (for API-only users)
  service create <handle> <name> [--protected] [--owner <handle>]...
                                                      create a service, optionally protected, with owners
  token create @<handle>                              print a new API token for a person or service
  hook create @<service>                              print a new incoming-hook URL for a service
  input add @<service> feed|calendar <url> [--every <s>] [--remind <min>] [--tz <zone>]
                                                      poll a feed or calendar into a service's statuses
  digests send                                        send every digest that has content now
  admin grant @<handle>                               make a person an administrator (recorded)
  admin revoke @<handle>                              take it back (not for a handle in ADMIN_HANDLES)
  help                                                this text

Configuration comes from the environment (DATABASE_URL, PUBLIC_URL, ...), as for the server.`;

class UsageError extends Error {}

const out = (line: string) => process.stdout.write(`${line}\n`);

function need(args: string[], n: number, usage: string): void {
  if (args.length !== n) throw new UsageError(`Expected ${n} argument${n === 1 ? '' : 's'}. Usage: twitterprise ${usage}`);
}

/**
 * The embedded PGlite folder takes one process at a time: while the app has it open, a command that
 * writes is refused (two writers would lose data) and told what to do instead.
 */
function lockPglite(config: Config, command: string): FolderLock | null {
  if (config.databaseUrl || config.pgliteDir.includes('://')) return null;
  try {
    return lockFolder(config.pgliteDir, `twitterprise ${command}`);
  } catch (e) {
    if (!(e instanceof FolderLockedError)) throw e;
    throw new UsageError(
      `Twitterprise (process ${e.holder.pid}) has the database in ${config.pgliteDir} open, and only one process at a time may use it: do this through the HTTP API while the app runs, or stop the app and run this command again.`,
    );
  }
}

async function withContext<T>(config: Config, command: string, run: (ctx: AppContext, database: Database) => Promise<T>): Promise<T> {
  const lock = lockPglite(config, command);
  let database: Database;
  try {
    database = await openDatabase({ databaseUrl: config.databaseUrl, pgliteDir: config.pgliteDir, max: 2 });
  } catch (e) {
    lock?.release();
    throw e;
  }
  const databaseUrl = config.databaseUrl;
  if (databaseUrl) {
    // Say why the database cannot be reached (not the first query that failed).
    try {
      await database.ping();
    } catch (e) {
      await database.close().catch(() => {});
      throw new UsageError(describeDatabaseError(e, databaseUrl));
    }
  }
  // Logs go to stderr so stdout carries only the answer (a token or URL can be piped).
  const log = pino({ level: config.logLevel === 'info' ? 'warn' : config.logLevel, base: { app: 'twitterprise' } }, pino.destination(2)).child({ name: 'cli' });
  try {
    return await run({ db: database.db, config, log, clock: systemClock, kick: () => {} }, database);
  } finally {
    await database.close();
    lock?.release();
  }
}

export async function runCli(argv: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      protected: { type: 'boolean', default: false },
      owner: { type: 'string', multiple: true, default: [] },
      every: { type: 'string' },
      remind: { type: 'string' },
      tz: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, sub, ...args] = positionals;
  const key = [command, sub].filter(Boolean).join(' ');
  if (!command || command === 'help' || values.help) {
    out(USAGE);
    return 0;
  }
  const known = ['migrate', 'person create', 'service create', 'token create', 'hook create', 'input add', 'digests send', 'admin grant', 'admin revoke'];
  if (!known.includes(key)) throw new UsageError(`"${positionals.join(' ')}" is not a command. Try: twitterprise help`);
  const config = parseConfig(env);
  switch (key) {
    case 'migrate':
      await withContext(config, key, (_ctx, database) => migrateDatabase(database));
      out('Migrations applied.');
      return 0;
    case 'person create':
      need(args, 3, 'person create <handle> <name> <email>');
      await withContext(config, key, async (ctx) => {
        const p = await createPerson(ctx, { handle: args[0]!, name: args[1]!, email: args[2]! });
        out(`Created @${p.handle} (${p.name}, ${p.email}).`);
      });
      return 0;
    case 'service create':
      need(args, 2, 'service create <handle> <name> [--protected] [--owner <handle>]...');
      await withContext(config, key, async (ctx) => {
        const s = await createService(ctx, { handle: args[0]!, name: args[1]!, visibility: values.protected ? 'protected' : 'public', owners: values.owner });
        const owners = s.owners.length ? `owners ${s.owners.map((o) => `@${o}`).join(', ')}` : 'no owners';
        out(`Created service @${s.handle} (${s.name}, ${s.visibility}, ${owners}).`);
      });
      return 0;
    case 'token create':
      need(args, 1, 'token create @<handle>');
      await withContext(config, key, async (ctx) => {
        const subject = await requireSource(ctx, args[0]!);
        out(await createApiToken(ctx, subject.id));
      });
      return 0;
    case 'hook create':
      need(args, 1, 'hook create @<service>');
      await withContext(config, key, async (ctx) => out(await createHookUrl(ctx, await requireSource(ctx, args[0]!))));
      return 0;
    case 'input add': {
      const usage = 'input add @<service> feed|calendar <url> [--every <s>] [--remind <min>] [--tz <zone>]';
      need(args, 3, usage);
      const kind = inputKindSchema.safeParse(args[1]);
      if (!kind.success) throw new UsageError(`"${args[1]}" is not feed or calendar. Usage: twitterprise ${usage}`);
      const checked = <T>(name: string, schema: z.ZodType<T>, v: unknown): T | undefined => {
        if (v === undefined) return undefined;
        const r = schema.safeParse(v);
        if (!r.success) throw new UsageError(`--${name}: ${r.error.issues[0]?.message ?? 'invalid'}. Usage: twitterprise ${usage}`);
        return r.data;
      };
      const num = (v: string | undefined) => (v === undefined ? undefined : /^\d+$/.test(v) ? Number(v) : NaN);
      const body = {
        kind: kind.data,
        url: args[2]!,
        every: checked('every', everySchema, num(values.every)),
        remind: checked('remind', remindSchema, num(values.remind)),
        tz: checked('tz', tzSchema, values.tz),
      };
      await withContext(config, key, async (ctx) => {
        const i = await createInput(ctx, { id: null, isAdmin: true }, args[0]!, body);
        out(`Added ${i.kind} input ${i.id} to @${i.service}: ${i.url}, polled every ${i.every} s${i.kind === 'calendar' ? `, reminders ${i.remind} min before (${i.tz})` : ''}.`);
      });
      return 0;
    }
    case 'digests send':
      need(args, 0, 'digests send');
      await withContext(config, key, async (ctx) => {
        const r = await sendDueDigests(ctx, { force: true });
        out(`Sent ${r.sent.length} digest${r.sent.length === 1 ? '' : 's'}${r.failed ? `; ${r.failed} failed and will be retried` : ''}.`);
        if (r.failed) throw new UsageError(`${r.failed} digest${r.failed === 1 ? '' : 's'} could not be sent; see the log above.`);
      });
      return 0;
    case 'admin grant':
    case 'admin revoke':
      need(args, 1, `${key} @<handle>`);
      await withContext(config, key, async (ctx) => {
        const r = sub === 'grant' ? await grantAdmin(ctx, args[0]!, null, 'cli') : await revokeAdmin(ctx, args[0]!, null, 'cli');
        const h = `@${r.person.handle}`;
        if (sub === 'grant') out(r.changed ? `${h} is now an administrator.` : `${h} was already an administrator.`);
        else out(r.changed ? `${h} is no longer an administrator.` : `${h} was not an administrator.`);
      });
      return 0;
    default:
      throw new UsageError(`"${key}" is not a command. Try: twitterprise help`);
  }
}

/** One sentence per problem on stderr, exit code 1. */
export function explain(e: unknown): string {
  if (e instanceof ConfigError) return e.problems.join('\n');
  if (e instanceof DomainError) return describeError(e);
  if (e instanceof UsageError) return e.message;
  if (isDependencyDown(e)) return `The database is not reachable (${(e as Error).message}). Check DATABASE_URL.`;
  const code = (e as { code?: string }).code;
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) return `${(e as Error).message}. Try: twitterprise help`;
  return e instanceof Error ? e.message : String(e);
}

const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(realpathSync(entry)).href) {
  runCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`${explain(e)}\n`);
      process.exit(1);
    },
  );
}
