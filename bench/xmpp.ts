/**
 * XMPP deliveries per second to one app (SPEC section 8): a throwaway Prosody on 127.0.0.1, the app (web +
 * worker in this process) joined to it as the component, one @xmpp/client app subscribed to a service,
 * and BENCH_XMPP_STATUSES statuses posted by the service (BENCH_XMPP_CLIENTS at a time). Measured from
 * the first post to the last message the app received; duplicates and missing ones are counted.
 *
 *   npx tsx bench/xmpp.ts        (alone)     npm run bench    (one line of bench/run.ts)
 */
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { parseConfig } from '../src/config.js';
import { startApp } from '../src/main.js';
import { startProsody } from '../test/fakes/prosody.js';
import { connectPeer } from '../test/fakes/xmpp-peer.js';
import { createTestDatabase, REDIS_URL, testQueuePrefix } from '../test/helpers/db.js';
import { dropPrefix } from '../test/helpers/queues.js';
import { perSecond, table } from './stats.js';

const ADMIN = `bench-admin-${Math.random().toString(36).slice(2)}-token`;

export interface XmppBenchResult {
  statuses: number;
  received: number;
  duplicates: number;
  seconds: number;
}

export async function benchXmpp(say: (s: string) => void = (s) => process.stdout.write(`${s}\n`)): Promise<XmppBenchResult> {
  const total = Number(process.env.BENCH_XMPP_STATUSES ?? 2000);
  const clients = Math.max(1, Number(process.env.BENCH_XMPP_CLIENTS ?? 16));
  const prosody = await startProsody();
  prosody.register('bench-app', 'pw');
  const database = await createTestDatabase();
  const prefix = testQueuePrefix();
  const config = parseConfig({
    DATABASE_URL: database.url,
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    PORT: '0',
    ADMIN_TOKEN: ADMIN,
    LOG_LEVEL: 'silent',
    STATUS_RATE_LIMIT: '0',
    XMPP_SERVICE: prosody.componentService,
    XMPP_DOMAIN: prosody.componentDomain,
    XMPP_SECRET: prosody.secret,
  });
  const app = await startApp({ config, role: 'all', log: pino({ level: 'silent' }) });
  const call = async (path: string, token: string, body: unknown) => {
    const r = await fetch(`${app.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (r.status >= 300) throw new Error(`${path}: ${r.status} ${await r.text()}`);
    return (await r.json()) as Record<string, string>;
  };
  const peer = await connectPeer(prosody, 'bench-app');
  try {
    await call('/api/v1/services', ADMIN, { handle: 'ledger', name: 'Ledger' });
    const token = (await call('/api/v1/tokens', ADMIN, { subject: '@ledger' })).token!;
    await peer.presence(`ledger@${prosody.componentDomain}`, 'subscribe');
    await peer.waitFor((el) => el.name === 'presence' && el.attrs.type === 'subscribed', 'the subscription');

    const ids = new Map<string, number>();
    let last = 0;
    peer.client.on('stanza', (el: { name: string; attrs: Record<string, string | undefined> }) => {
      if (el.name !== 'message' || el.attrs.from !== `ledger@${prosody.componentDomain}` || !el.attrs.id) return;
      ids.set(el.attrs.id, (ids.get(el.attrs.id) ?? 0) + 1);
      last = performance.now();
    });
    const start = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (next < total) {
          const i = next++;
          await call('/api/v1/statuses', token, { text: `Expense ${i}: $${(i % 500) + 1}.00 #expense` });
        }
      }),
    );
    const posted = (performance.now() - start) / 1000;
    const deadline = Date.now() + 120_000;
    while (ids.size < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const seconds = ((ids.size ? last : performance.now()) - start) / 1000;
    const duplicates = [...ids.values()].reduce((n, c) => n + c - 1, 0);
    const result = { statuses: total, received: ids.size, duplicates, seconds };
    say(
      table(
        ['xmpp (one app)', 'value'],
        [
          ['deliveries/s', perSecond(result.received / result.seconds)],
          ['received', `${result.received} of ${total} in ${seconds.toFixed(2)} s (all posted after ${posted.toFixed(2)} s), ${duplicates} duplicates`],
        ],
      ),
    );
    return result;
  } finally {
    await peer.stop();
    await app.close();
    await database.drop();
    await dropPrefix(prefix);
    await prosody.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  benchXmpp().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`xmpp benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
