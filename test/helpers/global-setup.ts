import { existsSync } from 'node:fs';
import postgres from 'postgres';
import { Redis } from 'ioredis';
import { PROSODY_PACKAGES, prosodyInstalled } from '../fakes/prosody.js';

/** Fails fast, with a clear sentence, when the machine's PostgreSQL or Redis is not up. */
export default async function setup(): Promise<void> {
  // The console's browser tests drive a real Chromium (test/console/browser.ts); without it, stop now and say what to install.
  const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(chromium)) throw new Error(`Chromium is missing at ${chromium}: install the Debian package "chromium" (apt-get install chromium).`);
  // The XMPP tests run a real Prosody: without it the run stops here, never skips them silently.
  if (!prosodyInstalled()) throw new Error(`Prosody is not installed (the XMPP tests need it): apt-get install -y --no-install-recommends ${PROSODY_PACKAGES}`);
  const sql = postgres(process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/test', { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    await sql`select 1`;
  } catch (err) {
    throw new Error(`PostgreSQL is not reachable for the tests: ${(err as Error).message}`);
  } finally {
    await sql.end();
  }
  const redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(`Redis is not reachable for the tests: ${(err as Error).message}`);
  } finally {
    redis.disconnect();
  }
}
