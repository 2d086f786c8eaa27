import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { eq } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate, authenticateHook } from '../src/app/tokens.js';
import { parseConfig } from '../src/config.js';
import { systemClock } from '../src/core/clock.js';
import { openDatabase, type Database } from '../src/db/client.js';
import { serviceOwners, sources } from '../src/db/schema.js';
import { PG_ADMIN_URL } from './helpers/db.js';
import { ensureDist } from './runtime/helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const name = `tp_cli_${randomBytes(5).toString('hex')}`;
const url = new URL(PG_ADMIN_URL);
url.pathname = `/${name}`;
const DATABASE_URL = url.toString();
const outboxDir = mkdtempSync(path.join(os.tmpdir(), 'tp-cli-mail-'));
const ADMIN_TOKEN = 'cli-test-admin-token-0123456789';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI as a person at a shell would (`tsx src/cli.ts ...`), with a bounded wait. */
function cli(args: string[], env: Record<string, string> = {}, via: 'tsx' | 'bin' = 'tsx'): Promise<Run> {
  const argv = via === 'bin' ? [path.join(root, 'bin/twitterprise.js'), ...args] : ['--import', 'tsx', path.join(root, 'src/cli.ts'), ...args];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      argv,
      {
        cwd: root,
        timeout: 60_000,
        env: { PATH: process.env.PATH ?? '', DATABASE_URL, PUBLIC_URL: 'https://tp.example.com', OUTBOX_DIR: outboxDir, ADMIN_TOKEN, LOG_LEVEL: 'warn', ...env },
      },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

let database: Database;
beforeAll(async () => {
  const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
});
afterAll(async () => {
  await database?.close();
  const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
  rmSync(outboxDir, { recursive: true, force: true });
});

// Each run starts a Node process that compiles TypeScript: allow more than the default per-test time.
describe('twitterprise command line', { timeout: 90_000 }, () => {
  it('migrate creates the schema, and running it again is harmless', async () => {
    const first = await cli(['migrate']);
    expect(first, first.stderr).toMatchObject({ code: 0, stdout: 'Migrations applied.\n' });
    const again = await cli(['migrate']);
    expect(again.code).toBe(0);
    database = await openDatabase({ databaseUrl: DATABASE_URL, max: 1 });
    expect(await database.db.select().from(sources)).toEqual([]);
  });

  it('person create, service create with owners, token create and hook create', async () => {
    const p = await cli(['person', 'create', 'alice', 'Alice Doe', 'alice@corp.example']);
    expect(p, p.stderr).toMatchObject({ code: 0, stdout: 'Created @alice (Alice Doe, alice@corp.example).\n' });
    const s = await cli(['service', 'create', 'payroll', 'Payroll run', '--protected', '--owner', 'alice']);
    expect(s, s.stderr).toMatchObject({ code: 0, stdout: 'Created service @payroll (Payroll run, protected, owners @alice).\n' });
    const [svc] = await database.db.select().from(sources).where(eq(sources.handle, 'payroll'));
    expect(svc).toMatchObject({ kind: 'service', visibility: 'protected', name: 'Payroll run' });
    expect(await database.db.select().from(serviceOwners).where(eq(serviceOwners.serviceId, svc!.id))).toHaveLength(1);

    const t = await cli(['token', 'create', '@payroll']);
    expect(t.code).toBe(0);
    const token = t.stdout.trim();
    expect(token).toMatch(/^tp_[A-Za-z0-9_-]{40,}$/);
    const principal = await authenticate({ db: database.db, clock: systemClock, config: parseConfig({ DATABASE_URL }) }, token);
    expect(principal.source?.handle).toBe('payroll');

    const hk = await cli(['hook', 'create', '@payroll']);
    expect(hk.code).toBe(0);
    expect(hk.stdout).toMatch(/^https:\/\/tp\.example\.com\/hooks\/th_\S+\n$/);
    const hook = await authenticateHook({ db: database.db, clock: systemClock }, hk.stdout.trim().split('/hooks/')[1]!);
    expect(hook.service.handle).toBe('payroll');
  });

  it('digests send reports how many went out', async () => {
    const r = await cli(['digests', 'send']);
    expect(r, r.stderr).toMatchObject({ code: 0, stdout: 'Sent 0 digests.\n' });
    expect(readdirSync(outboxDir)).toEqual([]);
  });

  it('mistakes print one sentence on stderr and exit 1', async () => {
    const [dup, unknown, hookForPerson, missing, bad, config] = await Promise.all([
      cli(['service', 'create', 'payroll', 'Again']),
      cli(['token', 'create', '@nobody']),
      cli(['hook', 'create', '@alice']),
      cli(['person', 'create', 'bob']),
      cli(['frobnicate']),
      cli(['migrate'], { DATABASE_URL: 'not a url' }),
    ]);
    expect(dup).toMatchObject({ code: 1, stdout: '', stderr: 'The handle @payroll is taken.\n' });
    expect(unknown).toMatchObject({ code: 1, stderr: '@nobody is not a known handle. Try: whois @handle\n' });
    expect(hookForPerson).toMatchObject({ code: 1, stderr: '@alice is a person; incoming hooks are for services.\n' });
    expect(missing).toMatchObject({ code: 1, stderr: 'Expected 3 arguments. Usage: twitterprise person create <handle> <name> <email>\n' });
    expect(bad).toMatchObject({ code: 1, stderr: '"frobnicate" is not a command. Try: twitterprise help\n' });
    expect(config).toMatchObject({ code: 1, stderr: 'DATABASE_URL: must be a URL (postgres://user@host:5432/db)\n' });
  });

  it('the bin shim runs the same CLI (compiled, from dist/)', async () => {
    // The shim builds dist/ itself when it is stale; this test builds it first and then, as others may
    // be editing src/ meanwhile, runs that build as it is (TWITTERPRISE_NO_BUILD).
    await ensureDist();
    const r = await cli(['help'], { TWITTERPRISE_NO_BUILD: '1' }, 'bin');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: twitterprise <command>/);
    expect(r.stdout).toContain('service create <handle> <name> [--protected] [--owner <handle>]...');
    const t = await cli(['token', 'create', 'alice'], { TWITTERPRISE_NO_BUILD: '1' }, 'bin');
    expect(t.stdout).toMatch(/^tp_/);
  }, 400_000);
});
