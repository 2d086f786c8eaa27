import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { follow, resolveTarget } from '../../src/app/follows.js';
import { setDigest } from '../../src/app/settings.js';
import { postStatus } from '../../src/app/statuses.js';
import { authenticateHook } from '../../src/app/tokens.js';
import { newId } from '../../src/core/ids.js';
import { deliveries } from '../../src/db/schema.js';
import type { PipelineApi } from '../../src/http/pipeline-api.js';
import { sendDueDigests } from '../../src/integrations/email/index.js';
import { expectProblem, startHarness, type Harness } from './harness.js';

let h: Harness;
let alice: { row: { id: string }; token: string };
let bob: { row: { id: string }; token: string };
const outboxDir = mkdtempSync(path.join(os.tmpdir(), 'tp-http-mail-'));

// The digest endpoint wired to the email integration's real function, as main.ts does.
const pipeline: PipelineApi = {
  sendTestEvent: () => Promise.reject(new Error('not used here')),
  redeliver: () => Promise.reject(new Error('not used here')),
  sendDigestsNow: async () => ({ sent: (await sendDueDigests(h.t.ctx, { force: true })).sent.length }),
};

beforeAll(async () => {
  h = await startHarness({ pipeline, env: { OUTBOX_DIR: outboxDir } });
  alice = await h.person('alice');
  bob = await h.person('bob');
});
afterAll(async () => {
  await h?.close();
  rmSync(outboxDir, { recursive: true, force: true });
});

describe('people and services (admin)', () => {
  it('POST /people creates a person; 409 for a taken handle or email; 403 for a non-admin', async () => {
    const r = await h.call('POST', '/api/v1/people', { body: { handle: 'zoe', name: 'Zoe Z', email: 'Zoe@Corp.example' } });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ handle: 'zoe', name: 'Zoe Z', email: 'zoe@corp.example', kind: 'person' });
    expectProblem(await h.call('POST', '/api/v1/people', { body: { handle: 'zoe', name: 'Other', email: 'other@corp.example' } }), 409, /@zoe is taken/);
    expectProblem(await h.call('POST', '/api/v1/people', { body: { handle: 'zed', name: 'Other', email: 'zoe@corp.example' } }), 409, /already exists/);
    expectProblem(await h.call('POST', '/api/v1/people', { body: { handle: 'Not A Handle!', name: 'X', email: 'x@corp.example' } }), 400, /not a handle/);
    expectProblem(await h.call('POST', '/api/v1/people', { body: { handle: 'yan', name: 'Yan', email: 'nope' } }), 400, /not an email/);
    expectProblem(await h.call('POST', '/api/v1/people', { token: alice.token, body: { handle: 'yan', name: 'Yan', email: 'yan@corp.example' } }), 403, /administrator/);
  });

  it('POST /services and PATCH /services/:handle', async () => {
    const r = await h.call('POST', '/api/v1/services', { body: { handle: 'it-status', name: 'IT status', visibility: 'protected', owners: ['alice', '@bob'] } });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({ handle: 'it-status', name: 'IT status', kind: 'service', visibility: 'protected', owners: ['alice', 'bob'] });
    expectProblem(await h.call('POST', '/api/v1/services', { body: { handle: 'it-status', name: 'Again' } }), 409, /taken/);
    expectProblem(await h.call('POST', '/api/v1/services', { body: { handle: 'x', name: 'X', owners: ['ghost'] } }), 404, /@ghost is not a known handle/);
    expectProblem(await h.call('POST', '/api/v1/services', { body: { handle: 'x', name: 'X', visibility: 'secret' } }), 400, /Field "visibility": must be "public" or "protected"/);
    expectProblem(await h.call('POST', '/api/v1/services', { token: alice.token, body: { handle: 'x', name: 'X' } }), 403);

    const p = await h.call('PATCH', '/api/v1/services/it-status', { body: { name: 'IT', visibility: 'public', owners: ['bob'] } });
    expect(p.status).toBe(200);
    expect(p.body).toEqual({ handle: 'it-status', name: 'IT', kind: 'service', visibility: 'public', owners: ['bob'] });
    expectProblem(await h.call('PATCH', '/api/v1/services/nothing', { body: { name: 'N' } }), 404);
    expectProblem(await h.call('PATCH', '/api/v1/services/alice', { body: { name: 'N' } }), 400, /is a person/);
    expectProblem(await h.call('PATCH', '/api/v1/services/it-status', { token: bob.token, body: { name: 'N' } }), 403);
  });
});

describe('tokens and hook URLs', () => {
  it('POST /tokens: admin for anyone, an owner for its service; the token works once returned', async () => {
    await h.call('POST', '/api/v1/services', { body: { handle: 'calendar', name: 'Calendar', owners: ['alice'] } });
    const r = await h.call('POST', '/api/v1/tokens', { token: alice.token, body: { subject: '@calendar' } });
    expect(r.status).toBe(201);
    expect(r.body.token).toMatch(/^tp_[A-Za-z0-9_-]{40,}$/);
    expect(r.body.subject).toBe('@calendar');
    const post = await h.call('POST', '/api/v1/statuses', { token: r.body.token, body: { text: 'standup moved' } });
    expect(post.body.source.handle).toBe('calendar');

    expectProblem(await h.call('POST', '/api/v1/tokens', { token: bob.token, body: { subject: '@calendar' } }), 403, /not an owner/);
    expectProblem(await h.call('POST', '/api/v1/tokens', { token: bob.token, body: { subject: '@alice' } }), 403);
    expectProblem(await h.call('POST', '/api/v1/tokens', { token: r.body.token, body: { subject: '@calendar' } }), 422, /service token/);
    expectProblem(await h.call('POST', '/api/v1/tokens', { body: { subject: '@nobody' } }), 404);
    expectProblem(await h.call('POST', '/api/v1/tokens', { body: { subject: '@bob', expires_at: 'tomorrow' } }), 400, /expires_at/);

    const admin = await h.call('POST', '/api/v1/tokens', { body: { subject: 'bob', expires_at: '2030-01-01T00:00:00Z' } });
    expect(admin.status).toBe(201);
    expect(admin.body.expires_at).toBe('2030-01-01T00:00:00.000Z');
    expect((await h.call('GET', '/api/v1/timeline', { token: admin.body.token })).status).toBe(200);
  });

  it('POST /services/:handle/hooks returns a hook URL under PUBLIC_URL; admin or owner', async () => {
    await h.call('POST', '/api/v1/services', { body: { handle: 'payroll', name: 'Payroll', owners: ['alice'] } });
    const r = await h.call('POST', '/api/v1/services/payroll/hooks', { token: alice.token });
    expect(r.status).toBe(201);
    expect(r.body.url).toMatch(new RegExp(`^${h.t.config.publicUrl}/hooks/th_`));
    const secret = r.body.url.split('/hooks/')[1];
    expect((await authenticateHook(h.t.ctx, secret)).service.handle).toBe('payroll');
    expect((await h.call('POST', '/api/v1/services/payroll/hooks')).status).toBe(201);
    expectProblem(await h.call('POST', '/api/v1/services/payroll/hooks', { token: bob.token }), 403);
    expectProblem(await h.call('POST', '/api/v1/services/alice/hooks'), 400, /incoming hooks are for services/);
    expectProblem(await h.call('POST', '/api/v1/services/ghost/hooks'), 404);
  });
});

describe('POST /api/v1/digests/send', () => {
  it('sends every digest with content now (admin only) and answers the count', async () => {
    const carol = await h.person('carol');
    await setDigest(h.t.ctx, carol.row.id, 'weekly', undefined, 'api');
    const f = await follow(h.t.ctx, { subscriber: { kind: 'person', id: carol.row.id }, actor: { id: carol.row.id, isAdmin: false }, target: await resolveTarget(h.t.ctx, '@bob'), route: 'email', via: 'api' });
    const { status } = await postStatus(h.t.ctx, { sourceId: bob.row.id, text: 'weekly numbers are in', platform: 'api' });
    await h.t.database.db.insert(deliveries).values({
      id: newId(),
      event: 'status.created',
      statusId: status.id,
      subscriberKind: 'person',
      subscriberId: carol.row.id,
      route: 'email',
      followId: f.follow.id,
      state: 'queued',
      dedupeKey: `email:${status.id}:${carol.row.id}`,
      createdAt: h.t.clock.now(),
    });
    expectProblem(await h.call('POST', '/api/v1/digests/send', { token: alice.token }), 403);
    const r = await h.call('POST', '/api/v1/digests/send');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ sent: 1 });
    expect(readdirSync(outboxDir).filter((f) => f.endsWith('.eml'))).toHaveLength(1);
    expect((await h.call('POST', '/api/v1/digests/send')).body).toEqual({ sent: 0 });
  });
});

describe('GET /api/v1/audit', () => {
  it('answers the consent record as JSON pages, filtered by subject and time, and as CSV', async () => {
    const erin = await h.person('erin');
    await h.call('POST', '/api/v1/follows', { token: erin.token, body: { target: '@alice' } });
    h.t.clock.advance(60_000);
    const mid = h.t.clock.now().toISOString();
    await h.call('POST', '/api/v1/follows', { token: erin.token, body: { target: '#deploy' } });
    h.t.clock.advance(60_000);
    await h.call('POST', '/api/v1/follows', { token: erin.token, body: { target: 'outage' } });

    const all = await h.call('GET', '/api/v1/audit?subject=@erin');
    expect(all.status).toBe(200);
    expect(all.body.items.map((i: { object: string }) => i.object)).toEqual(['"outage"', '#deploy', '@alice']);
    expect(all.body.items[2]).toMatchObject({ action: 'follow', via: 'api', subject: '@erin', actor: '@erin', subject_id: erin.row.id, at: expect.stringMatching(/Z$/) });
    const since = await h.call('GET', `/api/v1/audit?subject=erin&since=${encodeURIComponent(mid)}`);
    expect(since.body.items.map((i: { object: string }) => i.object)).toEqual(['"outage"', '#deploy']);
    const p1 = await h.call('GET', '/api/v1/audit?subject=erin&limit=2');
    expect(p1.body.items).toHaveLength(2);
    const p2 = await h.call('GET', `/api/v1/audit?subject=erin&limit=2&before=${p1.body.next}`);
    expect(p2.body).toEqual({ items: [expect.objectContaining({ object: '@alice' })], next: null });

    const csv = await h.call('GET', '/api/v1/audit?subject=@erin', { headers: { accept: 'text/csv' } });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = csv.text.trimEnd().split('\r\n');
    expect(lines[0]).toBe('id,at,actor_id,action,subject_id,object,via,detail,actor_handle,subject_handle');
    expect(lines).toHaveLength(4);
    // A leading @ would start a spreadsheet formula: the cell is neutralised with a quote.
    expect(lines[3]).toContain(`"${erin.row.id}","'@alice","api"`);
    // The handles come last, without the @ (actor and subject are both erin here).
    expect(lines[3]).toMatch(/,"erin","erin"$/);

    // ?format wins over Accept, both ways.
    const byQuery = await h.call('GET', '/api/v1/audit?subject=@erin&format=csv');
    expect(byQuery.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(byQuery.text).toBe(csv.text);
    const jsonAnyway = await h.call('GET', '/api/v1/audit?subject=@erin&format=json', { headers: { accept: 'text/csv' } });
    expect(jsonAnyway.headers.get('content-type')).toMatch(/^application\/json/);
    expect(jsonAnyway.body.items).toHaveLength(3);
    const csvAnyway = await h.call('GET', '/api/v1/audit?subject=@erin&format=csv', { headers: { accept: 'application/json' } });
    expect(csvAnyway.text.split('\r\n')[0]).toMatch(/^id,at,/);
    expectProblem(await h.call('GET', '/api/v1/audit?format=xml'), 400, /Query parameter "format": must be "csv" or "json"/);

    expectProblem(await h.call('GET', '/api/v1/audit', { token: erin.token }), 403);
    expectProblem(await h.call('GET', '/api/v1/audit?since=yesterday'), 400, /Query parameter "since"/);
    expectProblem(await h.call('GET', '/api/v1/audit?subject=@ghost'), 404);
  });
});
