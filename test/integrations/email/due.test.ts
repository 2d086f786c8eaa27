import { describe, expect, it } from 'vitest';
import { digestDue, digestSlot } from '../../../src/integrations/email/due.js';

const at = (iso: string) => new Date(iso);

describe('daily digest at 08:00 Europe/Berlin', () => {
  const s = { period: 'daily' as const, at: '08:00', timezone: 'Europe/Berlin' };
  // Sunday 22 Nov 2026, 08:00 CET (UTC+1).
  const sentSunday = at('2026-11-22T07:00:10Z');

  it('is not due at 07:59 local on the next day', () => {
    expect(digestDue({ ...s, lastDigestAt: sentSunday }, at('2026-11-23T06:59:59Z'))).toEqual({ due: false, periodKey: 'daily:2026-11-22' });
  });

  it('is due from 08:00 local, keyed by the local date', () => {
    expect(digestDue({ ...s, lastDigestAt: sentSunday }, at('2026-11-23T07:00:00Z'))).toEqual({ due: true, periodKey: 'daily:2026-11-23' });
    // A worker that was down at 08:00 still sends it later that day, once.
    expect(digestDue({ ...s, lastDigestAt: sentSunday }, at('2026-11-23T15:00:00Z')).due).toBe(true);
  });

  it('is not due again once sent for the day', () => {
    expect(digestDue({ ...s, lastDigestAt: at('2026-11-23T07:00:05Z') }, at('2026-11-23T22:59:00Z')).due).toBe(false);
    expect(digestDue({ ...s, lastDigestAt: at('2026-11-23T07:00:05Z') }, at('2026-11-24T07:00:00Z'))).toEqual({ due: true, periodKey: 'daily:2026-11-24' });
  });

  it('follows summer time (CEST, UTC+2)', () => {
    expect(digestSlot(s, at('2026-07-01T05:59:00Z'))).toBe('daily:2026-06-30');
    expect(digestSlot(s, at('2026-07-01T06:00:00Z'))).toBe('daily:2026-07-01');
  });

  it('uses the local date west of UTC too', () => {
    const la = { ...s, timezone: 'America/Los_Angeles' };
    expect(digestSlot(la, at('2026-11-23T15:59:00Z'))).toBe('daily:2026-11-22');
    expect(digestSlot(la, at('2026-11-23T16:00:00Z'))).toBe('daily:2026-11-23');
  });

  it('is due at once when no digest was ever sent', () => {
    expect(digestDue({ ...s, lastDigestAt: null }, at('2026-11-23T10:00:00Z'))).toEqual({ due: true, periodKey: 'daily:2026-11-23' });
  });
});

describe('hourly digest', () => {
  it('is due at the top of each hour', () => {
    const s = { period: 'hourly' as const, at: '08:00', timezone: 'Europe/Berlin' };
    const last = at('2026-11-23T10:00:10Z');
    expect(digestDue({ ...s, lastDigestAt: last }, at('2026-11-23T10:59:59Z')).due).toBe(false);
    expect(digestDue({ ...s, lastDigestAt: last }, at('2026-11-23T11:00:00Z'))).toEqual({ due: true, periodKey: 'hourly:2026-11-23T11:00' });
  });

  it('takes the minute of digest_at in local time (half-hour zones)', () => {
    const kolkata = { period: 'hourly' as const, at: '08:00', timezone: 'Asia/Kolkata' }; // UTC+5:30
    expect(digestSlot(kolkata, at('2026-11-23T10:29:00Z'))).toBe('hourly:2026-11-23T09:30');
    expect(digestSlot(kolkata, at('2026-11-23T10:30:00Z'))).toBe('hourly:2026-11-23T10:30');
    const berlin15 = { period: 'hourly' as const, at: '09:15', timezone: 'Europe/Berlin' };
    expect(digestSlot(berlin15, at('2026-11-23T10:14:00Z'))).toBe('hourly:2026-11-23T09:15');
    expect(digestSlot(berlin15, at('2026-11-23T10:15:00Z'))).toBe('hourly:2026-11-23T10:15');
  });

  it('keeps the repeated hour when clocks go back as two slots', () => {
    const s = { period: 'hourly' as const, at: '00:00', timezone: 'Europe/Berlin' };
    // 25 Oct 2026: 02:00-03:00 local happens twice (00:00-01:00Z and 01:00-02:00Z).
    expect(digestSlot(s, at('2026-10-25T00:30:00Z'))).not.toBe(digestSlot(s, at('2026-10-25T01:30:00Z')));
  });
});

describe('weekly digest on Mondays at 08:00 Europe/Berlin', () => {
  const s = { period: 'weekly' as const, at: '08:00', timezone: 'Europe/Berlin' };
  const lastMonday = at('2026-11-16T07:00:01Z');

  it('is not due during the week after a Monday digest', () => {
    expect(digestDue({ ...s, lastDigestAt: lastMonday }, at('2026-11-22T20:00:00Z'))).toEqual({ due: false, periodKey: 'weekly:2026-11-16' });
    expect(digestDue({ ...s, lastDigestAt: lastMonday }, at('2026-11-23T06:59:00Z'))).toEqual({ due: false, periodKey: 'weekly:2026-11-16' });
  });

  it('is due on Monday from 08:00 local, keyed by that Monday', () => {
    expect(digestDue({ ...s, lastDigestAt: lastMonday }, at('2026-11-23T07:00:00Z'))).toEqual({ due: true, periodKey: 'weekly:2026-11-23' });
    expect(digestSlot(s, at('2026-11-25T12:00:00Z'))).toBe('weekly:2026-11-23');
  });
});

describe('edge cases', () => {
  it('is never due when off', () => {
    expect(digestDue({ period: 'off', at: '08:00', timezone: 'UTC', lastDigestAt: null }, at('2026-11-23T08:00:00Z'))).toEqual({ due: false, periodKey: null });
  });

  it('falls back to UTC for a time zone the runtime does not know', () => {
    expect(digestSlot({ period: 'daily', at: '08:00', timezone: 'Mars/Olympus' }, at('2026-11-23T08:00:00Z'))).toBe('daily:2026-11-23');
    expect(digestSlot({ period: 'daily', at: '08:00', timezone: 'Mars/Olympus' }, at('2026-11-23T07:59:00Z'))).toBe('daily:2026-11-22');
  });
});
