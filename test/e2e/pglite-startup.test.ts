import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { parseConfig } from '../../src/config.js';
import { outbox } from '../../src/db/schema.js';
import { startApp, type RunningApp } from '../../src/main.js';
import { REDIS_URL, testQueuePrefix } from '../helpers/db.js';
import { eventually } from './harness.js';

/** `npm start` with no DATABASE_URL: the embedded PGlite database, migrated at start, serving and delivering. */
describe('start-up on embedded PGlite', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tp-pglite-app-'));
  let app: RunningApp | undefined;
  afterAll(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates its data folder, migrates, answers ready, and accepts a status', async () => {
    const admin = 'pglite-admin-token-0123456789';
    const config = parseConfig({
      PGLITE_DIR: path.join(dir, 'data', 'pglite'),
      REDIS_URL,
      QUEUE_PREFIX: testQueuePrefix(),
      PORT: '0',
      ADMIN_TOKEN: admin,
      LOG_LEVEL: 'silent',
      OUTBOX_DIR: path.join(dir, 'outbox'),
    });
    expect(config.databaseUrl).toBeUndefined();
    app = await startApp({ config, role: 'all', migrate: true, log: pino({ level: 'silent' }) });
    expect(app.database.kind).toBe('pglite');
    const ready = await fetch(`${app.url}/readyz`);
    expect(ready.status).toBe(200);
    const h = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
    expect((await fetch(`${app.url}/api/v1/services`, { method: 'POST', headers: h, body: JSON.stringify({ handle: 'build', name: 'Build' }) })).status).toBe(201);
    const { token } = (await (await fetch(`${app.url}/api/v1/tokens`, { method: 'POST', headers: h, body: JSON.stringify({ subject: '@build' }) })).json()) as { token: string };
    const posted = await fetch(`${app.url}/api/v1/statuses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'hello from PGlite #boot' }),
    });
    expect(posted.status).toBe(201);
    // The relay moved the outbox row into the queue.
    await eventually(async () => (await app!.ctx.db.select().from(outbox)).every((r) => r.relayedAt !== null), 'the relay');
    const feed = await (await fetch(`${app.url}/feeds/build.json`)).json();
    expect(JSON.stringify(feed)).toContain('hello from PGlite #boot');
  }, 90_000);
});
