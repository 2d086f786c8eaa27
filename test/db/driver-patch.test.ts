import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/db/client.js';
import { sources } from '../../src/db/schema.js';
import { createTestDatabase, PG_ADMIN_URL, type TestDatabase } from '../helpers/db.js';

/**
 * postgres.js 3.4.9 throws from a setImmediate when a write is issued on a connection whose socket has
 * closed (porsager/postgres#1208), which kills the process: the web process died this way when
 * PostgreSQL went away in the fault tests. patches/postgres+3.4.9.patch settles such a query with
 * CONNECTION_CLOSED instead. The check runs in a child process, because without the patch it crashes.
 */
const script = `
import postgres from 'postgres';
const sql = postgres(process.env.PG_URL, { max: 2, onnotice: () => {} });
const reserved = await sql.reserve();
const [{ pid }] = await reserved\`select pg_backend_pid() as pid\`;
await sql\`select pg_terminate_backend(\${pid})\`;
await new Promise((r) => setTimeout(r, 300));
const outcome = await reserved\`select 1\`.then(() => 'answered', (e) => 'rejected ' + e.code);
reserved.release();
await sql.end({ timeout: 1 });
console.log(outcome);
`;

describe('the patched PostgreSQL driver', () => {
  it('rejects a query on a connection whose server went away, and the process lives on', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      cwd: process.cwd(),
      env: { PATH: process.env.PATH ?? '', PG_URL: PG_ADMIN_URL },
      timeout: 20_000,
    });
    expect(stdout.trim()).toBe('rejected CONNECTION_CLOSED');
  });
});

/**
 * drizzle asks postgres.js to prepare only the queries given a name (`.prepare('name')`); any other
 * query with parameters then costs two round trips every time (describe, then execute) and a parse and
 * plan in PostgreSQL. patches/drizzle-orm+0.45.4.patch prepares every query: after its first run on a
 * connection, one round trip. Measured: ingest 127/s -> 167-183/s (docs/benchmarks.md).
 */
describe('the patched query builder', () => {
  let t: TestDatabase;
  let one: Database;
  beforeAll(async () => {
    t = await createTestDatabase();
    one = await openDatabase({ databaseUrl: t.url, max: 1 });
  });
  afterAll(async () => {
    await one?.close();
    await t?.drop();
  });

  it('runs an unnamed query as a named prepared statement, reused on its connection', async () => {
    const byHandle = (handle: string) => one.db.select({ id: sources.id }).from(sources).where(eq(sources.handle, handle));
    expect(await byHandle('nobody')).toEqual([]);
    expect(await byHandle('nobody-else')).toEqual([]);
    // One connection, so this reads that connection's statements.
    const rows = (await one.db.execute(sql`select statement from pg_prepared_statements where statement like '%from "sources" where "sources"."handle" = $1%'`)) as unknown as { statement: string }[];
    expect(rows).toHaveLength(1);
  });
});
