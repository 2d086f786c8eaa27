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
 * On a new connection postgres.js first reads the server's array types; when the connection went away in
 * that moment, the promise of that read was rejected with no handler and the process died (seen as a
 * worker exiting 1 when PostgreSQL was cut just after start-up). The patch handles it: the waiting query
 * fails with the connection's error and the process lives on. A fake server on 127.0.0.1 plays the
 * moment exactly: it completes the start-up, drops the connection when the types query arrives, and
 * takes no second connection.
 */
const typesScript = `
import net from 'node:net';
import postgres from 'postgres';
const msg = (type, body) => { const b = Buffer.alloc(5 + body.length); b.write(type, 0, 'latin1'); b.writeInt32BE(4 + body.length, 1); body.copy(b, 5); return b; };
const server = net.createServer((socket) => {
  server.close();
  let started = false;
  socket.on('data', () => {
    if (started) return socket.destroy();
    started = true;
    const ok = Buffer.alloc(4);
    socket.write(Buffer.concat([msg('R', ok), msg('Z', Buffer.from('I', 'latin1'))]));
  });
  socket.on('error', () => {});
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const sql = postgres({ host: '127.0.0.1', port: server.address().port, user: 'tp', database: 'tp', max: 1, connect_timeout: 2, onnotice: () => {} });
const outcome = await sql\`select 1\`.then(() => 'answered', (e) => 'rejected');
await sql.end({ timeout: 1 });
await new Promise((r) => setTimeout(r, 200));
console.log(outcome + ', still alive');
`;

describe('the patched PostgreSQL driver, when a connection goes away while it reads the array types', () => {
  it('fails the waiting query and the process lives on', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', typesScript], {
      cwd: process.cwd(),
      env: { PATH: process.env.PATH ?? '' },
      timeout: 20_000,
    });
    expect(stdout.trim()).toBe('rejected, still alive');
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

describe("the patched driver's connection queue", () => {
  // postgres.js moves each connection between queues (open, busy, full) on every query. shift() leaves an
  // empty slot behind, and a queue that is never quite empty keeps them; remove() scanned them all. The
  // patch searches the live part only: these are the queue's answers, which must not change.
  it('removes, shifts and counts as before, after many shifts that leave slots behind', async () => {
    // @ts-expect-error: the driver's internal module has no types.
    const { default: Queue } = (await import('../../node_modules/postgres/src/queue.js')) as { default: <T>() => { length: number; push(x: T): T; shift(): T; remove(x: T): T | null } };
    const q = Queue<object>();
    let last: object = { first: true };
    q.push(last);
    for (let i = 0; i < 1000; i++) {
      q.push((last = { i }));
      q.shift();
    }
    expect(q.length).toBe(1);
    const x = { x: 1 };
    const y = { y: 1 };
    q.push(x);
    q.push(y);
    expect(q.remove(x)).toBe(x);
    expect(q.remove(x)).toBeNull();
    expect(q.length).toBe(2);
    expect(q.shift()).toBe(last);
    expect(q.shift()).toBe(y);
    expect(q.shift()).toBe(undefined);
    expect(q.length).toBe(0);
  });
});
