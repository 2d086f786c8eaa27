import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import express from 'express';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { appSecrets, sources } from '../../src/db/schema.js';
import { createEmailIntegration, createMailer } from '../../src/integrations/email/index.js';
import { LEGACY_GRACE_DAYS, unsubscribeKeys } from '../../src/integrations/email/unsubscribe-keys.js';
import { signLegacyUnsubscribeToken, signUnsubscribeToken } from '../../src/integrations/email/unsubscribe-token.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { person } from '../integrations/email/seed.js';

/**
 * Class 3 of docs/security.md: unsubscribe links cannot be forged from what is not secret. The key is
 * random, made on first start and kept in the database (or UNSUBSCRIBE_SECRET); links made with the old
 * derived key stop working unless that key came from a real ADMIN_TOKEN (then for 30 days).
 */
const started: { t: TestContext; server: Server }[] = [];

async function install(env: Record<string, string> = {}): Promise<{ t: TestContext; url: (token: string) => string; dbLocation: string }> {
  const app = express();
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const publicUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const t = await createTestContext({ PUBLIC_URL: publicUrl, ...env });
  createEmailIntegration(t.ctx, createMailer(t.config, pino({ level: 'silent' }))).mount!(app);
  started.push({ t, server });
  return { t, url: (token) => `${publicUrl}/unsubscribe/${token}`, dbLocation: t.config.databaseUrl ?? t.config.pgliteDir };
}

afterAll(async () => {
  for (const { t, server } of started) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await t.drop();
  }
});

const click = (url: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
const digestOf = async (t: TestContext, id: string) => (await t.ctx.db.select({ d: sources.digestPeriod }).from(sources).where(eq(sources.id, id)))[0]!.d;

describe('a default install (no ADMIN_TOKEN, no UNSUBSCRIBE_SECRET)', () => {
  it('signs with a random key kept in the database, not one derived from the configuration', async () => {
    const { t, dbLocation } = await install();
    const keys = await unsubscribeKeys(t.ctx);
    const [row] = await t.ctx.db.select().from(appSecrets).where(eq(appSecrets.name, 'unsubscribe_key'));
    expect(row!.value).toBe(keys.current);
    expect(keys.current).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(keys.current).not.toContain(dbLocation);
    // Asked again (another process, the same database): the same key.
    expect((await unsubscribeKeys({ ...t.ctx })).current).toBe(keys.current);
  });

  it('a link forged with the old derivable key does not unsubscribe anyone, and its page says what to do', async () => {
    const { t, url, dbLocation } = await install();
    const victim = await person(t.ctx, 'vic', { digest: 'daily' });
    // What an attacker who knows the id and the (default) database location could compute:
    const derivable = `tp-unsub::${dbLocation}`;
    for (const forged of [signLegacyUnsubscribeToken(derivable, victim.id), signUnsubscribeToken(derivable, victim.id)]) {
      const get = await fetch(url(forged));
      const post = await click(url(forged));
      expect([403, 410]).toContain(get.status);
      expect([403, 410]).toContain(post.status);
    }
    const old = await fetch(url(signLegacyUnsubscribeToken(derivable, victim.id)));
    expect(old.status).toBe(410);
    const page = await old.text();
    expect(page).toMatch(/next digest/);
    expect(page).toContain('<code>digest off</code>');
    expect(await digestOf(t, victim.id)).toBe('daily');

    // The real link of this install works.
    const real = await click(url(signUnsubscribeToken((await unsubscribeKeys(t.ctx)).current, victim.id)));
    expect(real.status).toBe(200);
    expect(await digestOf(t, victim.id)).toBe('off');
  });
});

describe('an install whose old links were signed with a key derived from a real ADMIN_TOKEN', () => {
  it('keeps those links working for 30 days after the first start of this version, then says they expired', async () => {
    const admin = 'a-real-admin-token-0123456789abcdef';
    const { t, url, dbLocation } = await install({ ADMIN_TOKEN: admin });
    const ann = await person(t.ctx, 'ann', { digest: 'weekly' });
    await unsubscribeKeys(t.ctx); // first start
    const oldLink = url(signLegacyUnsubscribeToken(`tp-unsub:${admin}:${dbLocation}`, ann.id));
    expect((await fetch(oldLink)).status).toBe(200);

    t.clock.advance((LEGACY_GRACE_DAYS - 1) * 86_400_000);
    expect((await fetch(oldLink)).status).toBe(200);

    t.clock.advance(2 * 86_400_000);
    const late = await fetch(oldLink);
    expect(late.status).toBe(410);
    expect(await late.text()).toMatch(/next digest/);
    expect((await click(oldLink)).status).toBe(410);
    expect(await digestOf(t, ann.id)).toBe('weekly');
    // Even with ADMIN_TOKEN set, the forgeable key of a default install opens nothing.
    expect((await click(url(signLegacyUnsubscribeToken(`tp-unsub::${dbLocation}`, ann.id)))).status).toBe(410);
    expect(await digestOf(t, ann.id)).toBe('weekly');
  });
});

describe('UNSUBSCRIBE_SECRET', () => {
  it('sets the key; links of both formats signed with it keep working', async () => {
    const secret = 'an-operator-chosen-secret-0123456789';
    const { t, url } = await install({ UNSUBSCRIBE_SECRET: secret });
    expect((await unsubscribeKeys(t.ctx)).current).toBe(secret);
    const bo = await person(t.ctx, 'bo', { digest: 'daily' });
    expect((await fetch(url(signLegacyUnsubscribeToken(secret, bo.id)))).status).toBe(200);
    expect((await click(url(signUnsubscribeToken(secret, bo.id)))).status).toBe(200);
    expect(await digestOf(t, bo.id)).toBe('off');
  });
});
