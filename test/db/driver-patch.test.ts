import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PG_ADMIN_URL } from '../helpers/db.js';

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
