import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { parseConfig } from '../../src/config.js';
import { eq } from 'drizzle-orm';
import { deliveries, outbox, sources } from '../../src/db/schema.js';
import { startApp, type RunningApp } from '../../src/main.js';
import { WebhookReceiver } from '../fakes/webhook-receiver.js';
import { REDIS_URL, testQueuePrefix } from '../helpers/db.js';
import { dropPrefix } from '../helpers/queues.js';
import { addFollow, addPerson, addWebhook } from '../pipeline/helpers.js';
import { eventually } from './harness.js';

/** `npm start` with no DATABASE_URL: the embedded PGlite database, migrated at start, serving and delivering. */
describe('start-up on embedded PGlite', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tp-pglite-app-'));
  let app: RunningApp | undefined;
  let receiver: WebhookReceiver | undefined;
  const prefix = testQueuePrefix();
  afterAll(async () => {
    await app?.close();
    await receiver?.close();
    await dropPrefix(prefix);
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates its data folder, migrates, answers ready, accepts a status and delivers it in a batch', async () => {
    receiver = await WebhookReceiver.start();
    const admin = 'pglite-admin-token-0123456789';
    const config = parseConfig({
      PGLITE_DIR: path.join(dir, 'data', 'pglite'),
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      PORT: '0',
      ADMIN_TOKEN: admin,
      LOG_LEVEL: 'silent',
      OUTBOX_DIR: path.join(dir, 'outbox'),
      WEBHOOK_ALLOW_PRIVATE: 'true',
    });
    expect(config.databaseUrl).toBeUndefined();
    app = await startApp({ config, role: 'all', migrate: true, log: pino({ level: 'silent' }) });
    expect(app.database.kind).toBe('pglite');
    const ready = await fetch(`${app.url}/readyz`);
    expect(ready.status).toBe(200);
    const h = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
    expect((await fetch(`${app.url}/api/v1/services`, { method: 'POST', headers: h, body: JSON.stringify({ handle: 'build', name: 'Build' }) })).status).toBe(201);
    const { token } = (await (await fetch(`${app.url}/api/v1/tokens`, { method: 'POST', headers: h, body: JSON.stringify({ subject: '@build' }) })).json()) as { token: string };
    // Three endpoints follow @build: their deliveries travel in one batch job (bulk JSON insert, prepared
    // batch reads and the bulk update, all on PGlite).
    const [build] = await app.ctx.db.select().from(sources).where(eq(sources.handle, 'build'));
    const owner = await addPerson(app.ctx, 'hook-owner');
    const paths = ['/a', '/b', '/c'];
    for (const p of paths) {
      const hook = await addWebhook(app.ctx, owner.id, receiver.url(p));
      receiver.expect(p, hook.secret);
      await addFollow(app.ctx, { subscriberKind: 'webhook', subscriberId: hook.id, target: build!.id });
    }
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
    await receiver.waitFor(() => paths.every((p) => receiver!.eventsAt(p).length === 1), 'the three webhook deliveries');
    expect(paths.map((p) => receiver!.eventsAt(p)[0]!.body.data.text)).toEqual(Array(3).fill('hello from PGlite #boot'));
    expect(receiver.badSignatures).toEqual([]);
    await eventually(
      async () => (await app!.ctx.db.select().from(deliveries).where(eq(deliveries.route, 'webhook'))).filter((d) => d.state === 'sent' && d.attempts === 1).length === 3,
      'three deliveries marked sent',
    );
  }, 90_000);
});
