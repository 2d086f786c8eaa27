import { describe, expect, it } from 'vitest';
import { pagesById } from '../../src/db/keyset.js';

const ids = Array.from({ length: 25 }, (_, i) => ({ id: `k${String(i).padStart(3, '0')}` }));
/** Reads ids after `after`, as the keyset queries do; records every read. */
function reader(rows: { id: string }[], reads: [string | null, number][]) {
  return async (after: string | null, limit: number) => {
    reads.push([after, limit]);
    return rows.filter((r) => after === null || r.id > after).slice(0, limit);
  };
}

describe('keyset pages by id', () => {
  it('reads a smaller first page, then full pages after the last id, and stops at a short page', async () => {
    const reads: [string | null, number][] = [];
    const pages: string[][] = [];
    for await (const p of pagesById(reader(ids, reads), 10, 3)) pages.push(p.map((r) => r.id));
    expect(pages.map((p) => p.length)).toEqual([3, 10, 10, 2]);
    expect(pages.flat()).toEqual(ids.map((r) => r.id));
    expect(reads).toEqual([
      [null, 3],
      ['k002', 10],
      ['k012', 10],
      ['k022', 10],
    ]);
  });

  it('yields no empty page, and stops after one read when there is nothing', async () => {
    const reads: [string | null, number][] = [];
    const pages: unknown[] = [];
    for await (const p of pagesById(reader(ids.slice(0, 20), reads), 10)) pages.push(p);
    expect(pages).toHaveLength(2);
    expect(reads).toEqual([
      [null, 10],
      ['k009', 10],
      ['k019', 10],
    ]);
    const none: [string | null, number][] = [];
    for await (const p of pagesById(reader([], none), 10)) pages.push(p);
    expect(none).toEqual([[null, 10]]);
    expect(pages).toHaveLength(2);
  });
});
