import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertChannel } from '../../src/app/channels.js';
import { executeCommand, SORRY } from '../../src/app/commands/execute.js';
import { createPerson, type SourceRow } from '../../src/app/people.js';
import { createService } from '../../src/app/services.js';
import { COMMAND_NAMES } from '../../src/core/commands/usage.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { Fuzz } from './hostile-input.js';

/**
 * The chat command executor against thousands of random and hostile messages, as Slack and Teams
 * would pass them (mentions already turned into @handles): every one gets a reply sentence; none is
 * the apology for an internal failure, none leaks a stack, and none throws.
 */

const MESSAGES = Number(process.env.FUZZ_COMMANDS ?? 2000);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);

let t: TestContext;
let actors: SourceRow[];
let channelId: string;
const errors: string[] = [];

beforeAll(async () => {
  t = await createTestContext();
  t.ctx.log = pino({ level: 'error' }, { write: (line: string) => void errors.push(line) });
  const alice = await createPerson(t.ctx, { handle: 'alice', name: 'Alice', email: 'alice@corp.example' });
  const bob = await createPerson(t.ctx, { handle: 'bob', name: 'Bob', email: 'bob@corp.example', timezone: 'Europe/Paris' });
  await createService(t.ctx, { handle: 'build', name: 'Build', owners: ['alice'] });
  await createService(t.ctx, { handle: 'payroll', name: 'Payroll', visibility: 'protected', owners: ['bob'] });
  actors = [alice, bob];
  channelId = (await upsertChannel(t.ctx, { platform: 'slack', tenant: 'T1', externalId: 'C1', name: 'general' })).id;
});
afterAll(() => t?.drop());

describe('fuzzing the chat command executor', () => {
  it(`${MESSAGES} random and hostile messages: a reply sentence each, never an internal failure`, async () => {
    console.log(`fuzz-commands seed ${SEED} (replay with FUZZ_SEED=${SEED})`);
    const f = new Fuzz(SEED);
    const words = [...COMMAND_NAMES, 'leave', 'last', 'POST', 'Follow', 'CHANNEL', 'as @build', 'as @payroll', 'd @bob', 'd @alice', 'follow @payroll', 'approve @alice'];
    const failures: string[] = [];
    const started = Date.now();
    let n = 0;
    for (; n < MESSAGES && Date.now() - started < 60_000; n++) {
      const r = f.int(4);
      const text =
        r === 0 ? f.string() : r === 1 ? `${f.pick(words)} ${f.string()}` : r === 2 ? `${f.pick(words)} ${f.string()} ${f.string()}` : `${f.pick(words)}${f.pick(['', ' ', '\n', '\t', '\u00a0'])}${f.randomChars(f.int(30))}`;
      const actor = f.pick(actors);
      const before = errors.length;
      let reply: { text: string } | undefined;
      try {
        reply = await executeCommand(t.ctx, { actor, platform: f.pick(['slack', 'teams'] as const), ...(f.chance(0.3) ? { channelId } : {}), text });
      } catch (e) {
        failures.push(`threw for ${JSON.stringify(text.slice(0, 120))}: ${String(e)}`);
        continue;
      }
      const where = JSON.stringify(text.slice(0, 120));
      if (typeof reply?.text !== 'string' || !reply.text.trim()) failures.push(`empty reply for ${where}`);
      else if (reply.text === SORRY) failures.push(`internal failure for ${where}: ${errors.slice(before).join(' ').slice(0, 400)}`);
      else if (/\n\s+at |node_modules|\/src\//.test(reply.text)) failures.push(`stack or path in reply for ${where}`);
      if (failures.length >= 20) break;
    }
    console.log(`fuzz-commands: ${n} messages in ${Date.now() - started} ms`);
    expect(failures).toEqual([]);
    expect(n).toBeGreaterThanOrEqual(Math.min(MESSAGES, 500));
  }, 90_000);

  it('messages that name Object.prototype members or carry lone surrogates get a sentence, not the apology', async () => {
    const bad: string[] = [];
    for (const text of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'help constructor', 'help __proto__', 'see http://x.example/\ud921 now', 'post #tag\udfff @alice\ud800']) {
      const reply = await executeCommand(t.ctx, { actor: actors[0]!, platform: 'slack', text });
      if (reply.text === SORRY || !reply.text.trim()) bad.push(JSON.stringify(text));
    }
    expect(bad).toEqual([]);
  });

  it('the people are unharmed: still not admins, and a plain command still works', async () => {
    const reply = await executeCommand(t.ctx, { actor: actors[0]!, platform: 'slack', text: 'whois @build' });
    expect(reply.text).toMatch(/build/i);
    expect(Object.keys(Object.prototype)).toEqual([]);
  });
});
