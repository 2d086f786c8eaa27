import { describe, expect, it } from 'vitest';
import { addRoute, canonicalRoute, deliveryRoutes, formatRoutes, hasRoute, parseRouteSpec, personRoutesOf, removeRoute } from '../../src/core/routes.js';

describe('follow routes', () => {
  it.each([
    ['dm', ['dm']],
    ['both', ['dm', 'email']],
    ['dm+email', ['dm', 'email']],
    ['sms+dm', ['dm', 'sms']],
    ['email+sms+dm', ['dm', 'email', 'sms']],
    ['channel', []],
    ['webhook', []],
  ])('%s reads as %j', (stored, routes) => {
    expect(personRoutesOf(stored)).toEqual(routes);
  });

  it('formats in one canonical order, without repeats', () => {
    expect(formatRoutes(['sms', 'dm', 'sms'])).toBe('dm+sms');
    expect(formatRoutes([])).toBe('dm');
    expect(canonicalRoute('both')).toBe('dm+email');
    expect(canonicalRoute('channel')).toBe('channel');
    expect(canonicalRoute('webhook')).toBe('webhook');
  });

  it('has, add and remove', () => {
    expect(hasRoute('both', 'email')).toBe(true);
    expect(hasRoute('dm+sms', 'email')).toBe(false);
    expect(addRoute('both', 'sms')).toBe('dm+email+sms');
    expect(addRoute('dm', 'dm')).toBe('dm');
    expect(removeRoute('dm+sms', 'sms')).toBe('dm');
    expect(removeRoute('sms', 'sms')).toBeNull();
  });

  it('expands a follow to the routes its deliveries travel', () => {
    expect(deliveryRoutes('person', 'both')).toEqual(['dm', 'email']);
    expect(deliveryRoutes('person', 'dm+sms')).toEqual(['dm', 'sms']);
    expect(deliveryRoutes('person', 'garbage')).toEqual(['dm']);
    expect(deliveryRoutes('channel', 'channel')).toEqual(['channel']);
    expect(deliveryRoutes('webhook', 'webhook')).toEqual(['webhook']);
  });

  it('parses what people and API clients write', () => {
    expect(parseRouteSpec('DM + SMS')).toEqual({ ok: true, routes: ['dm', 'sms'] });
    expect(parseRouteSpec(['sms', 'both'])).toEqual({ ok: true, routes: ['dm', 'email', 'sms'] });
    expect(parseRouteSpec('dm+pager')).toEqual({ ok: false, bad: 'pager' });
    expect(parseRouteSpec('channel')).toEqual({ ok: false, bad: 'channel' });
    expect(parseRouteSpec([])).toMatchObject({ ok: false });
    expect(parseRouteSpec('dm+')).toEqual({ ok: false, bad: '' });
  });
});
