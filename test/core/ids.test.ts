import { describe, expect, it } from 'vitest';
import { firstIdAt, newId } from '../../src/core/ids.js';

describe('newId', () => {
  it('is a UUIDv7: version 7, RFC 4122 variant, the time in its first 48 bits', () => {
    const at = Date.UTC(2026, 10, 23, 12, 0, 0, 123);
    const id = newId(at);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(at);
  });

  it('sorts by creation time, and ids made in the same millisecond differ', () => {
    const ids = [newId(1000), newId(2000), newId(1_700_000_000_000), newId(1_700_000_000_001)];
    expect([...ids].reverse().sort()).toEqual(ids);
    const same = new Set(Array.from({ length: 10_000 }, () => newId(5000)));
    expect(same.size).toBe(10_000);
  });
});

describe('firstIdAt', () => {
  it('sorts below every id of its millisecond and above every earlier one', () => {
    const at = Date.UTC(2026, 11, 7, 12, 0, 0, 0);
    const boundary = firstIdAt(at);
    for (let i = 0; i < 50; i++) {
      expect(newId(at) > boundary).toBe(true);
      expect(newId(at - 1) < boundary).toBe(true);
    }
  });
});
