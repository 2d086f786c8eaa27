import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { newId } from '../../src/core/ids.js';
import { deliveries } from '../../src/db/schema.js';
import { createTestDatabase } from '../helpers/db.js';

describe('deliveries storage', () => {
  it('marks a fan-out page of deliveries sent without new index entries (every update heap-only)', async () => {
    const t = await createTestDatabase();
    try {
      const now = new Date();
      const statusId = newId(now.getTime());
      // A page as a fan-out writes it: one statement, rows of realistic width, every index filled.
      const rows = Array.from({ length: 1000 }, (_, i) => {
        const hook = `${newId(now.getTime())}${i}`;
        return {
          id: newId(now.getTime()),
          event: 'status.created',
          statusId,
          subscriberKind: 'webhook' as const,
          subscriberId: hook,
          route: 'webhook' as const,
          followId: newId(now.getTime()),
          state: 'queued' as const,
          dedupeKey: `status.created:${statusId}:webhook:${hook}:webhook`,
          createdAt: now,
          updatedAt: now,
        };
      });
      await t.db.insert(deliveries).values(rows);
      const hot = await t.db.transaction(async (tx) => {
        // As a delivery batch marks what it sent: 100 at a time, the columns deliver-batch's markSent sets.
        for (let i = 0; i < rows.length; i += 100) {
          const ids = rows.slice(i, i + 100).map((r) => r.id);
          await tx.execute(sql`update deliveries set state = 'sent', refs = '[]'::jsonb, sent_at = now(), updated_at = now(),
            attempts = attempts + 1, last_error = null, reason = null, hold_until = null where id in ${sql.raw(`(${ids.map((id) => `'${id}'`).join(',')})`)}`);
        }
        const [r] = (await tx.execute(sql`select pg_stat_get_xact_tuples_updated('deliveries'::regclass) as updated,
          pg_stat_get_xact_tuples_hot_updated('deliveries'::regclass) as hot`)) as unknown as { updated: string; hot: string }[];
        return r!;
      });
      expect(Number(hot.updated)).toBe(1000);
      expect(Number(hot.hot)).toBe(1000);
    } finally {
      await t.drop();
    }
  });
});
