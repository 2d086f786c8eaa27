import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { migrateDatabase, openDatabase } from '../../src/db/client.js';
import { sources } from '../../src/db/schema.js';
import { createTestDatabase } from '../helpers/db.js';

describe('database', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('migrates and round-trips on PostgreSQL', async () => {
    const t = await createTestDatabase();
    try {
      await t.db.insert(sources).values({ id: 's1', handle: 'alice', kind: 'person', name: 'Alice' });
      const rows = await t.db.select().from(sources).where(eq(sources.handle, 'alice'));
      expect(rows[0]?.visibility).toBe('public');
    } finally {
      await t.drop();
    }
  });

  it('migrates and round-trips on embedded PGlite with the same schema', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tp-pglite-'));
    dirs.push(dir);
    const d = await openDatabase({ pgliteDir: path.join(dir, 'data', 'pglite') });
    try {
      await migrateDatabase(d);
      await d.db.transaction(async (tx) => {
        await tx.insert(sources).values({ id: 's1', handle: 'bob', kind: 'person', name: 'Bob' });
      });
      const rows = await d.db.select().from(sources);
      expect(rows.map((r) => r.handle)).toEqual(['bob']);
    } finally {
      await d.close();
    }
  });
});
