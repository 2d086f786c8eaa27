import { describe, expect, it } from 'vitest';
import { parseHhMm, quietUntil } from '../../src/core/quiet-hours.js';

describe('quietUntil', () => {
  it('is null outside the period', () => {
    expect(quietUntil(new Date('2026-11-23T12:00:00Z'), 'UTC', '22:00', '07:00')).toBeNull();
  });
  it('ends the next morning for a period that wraps midnight', () => {
    expect(quietUntil(new Date('2026-11-23T23:30:10Z'), 'UTC', '22:00', '07:00')?.toISOString()).toBe('2026-11-24T07:00:00.000Z');
    expect(quietUntil(new Date('2026-11-24T06:59:00Z'), 'UTC', '22:00', '07:00')?.toISOString()).toBe('2026-11-24T07:00:00.000Z');
  });
  it('uses the person\'s time zone', () => {
    // 21:30 UTC is 22:30 in Berlin (CET, UTC+1): quiet until 07:00 Berlin = 06:00 UTC.
    expect(quietUntil(new Date('2026-11-23T21:30:00Z'), 'Europe/Berlin', '22:00', '07:00')?.toISOString()).toBe('2026-11-24T06:00:00.000Z');
  });
  it('handles a same-day period and its end boundary', () => {
    expect(quietUntil(new Date('2026-11-23T13:00:00Z'), 'UTC', '12:00', '14:00')?.toISOString()).toBe('2026-11-23T14:00:00.000Z');
    expect(quietUntil(new Date('2026-11-23T14:00:00Z'), 'UTC', '12:00', '14:00')).toBeNull();
  });
  it('rejects a malformed time with the right usage', () => {
    expect(() => parseHhMm('25:00')).toThrow(/not a time of day/);
    expect(parseHhMm('7:05')).toBe('07:05');
  });
});
