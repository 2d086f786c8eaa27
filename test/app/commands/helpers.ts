import { executeCommand } from '../../../src/app/commands/execute.js';
import { createPerson, getSourceByHandle, type SourceRow } from '../../../src/app/people.js';
import type { ChatPlatform, Reply } from '../../../src/core/types.js';
import type { TestContext } from '../../helpers/context.js';

/**
 * Runs a command the way a chat adapter does: with the person's row read afresh (adapters get it
 * from linkIdentity on every message).
 */
export async function say(t: TestContext, handle: string, text: string, o: { platform?: ChatPlatform; channelId?: string } = {}): Promise<Reply> {
  const actor = await getSourceByHandle(t.ctx, handle);
  if (!actor) throw new Error(`no @${handle} in this test database`);
  return executeCommand(t.ctx, { actor, platform: o.platform ?? 'slack', text, ...(o.channelId ? { channelId: o.channelId } : {}) });
}

/** The reply's text only. */
export const reply = async (...args: Parameters<typeof say>): Promise<string> => (await say(...args)).text;

export function person(t: TestContext, name: string, opts: { admin?: boolean } = {}): Promise<SourceRow> {
  const local = name.toLowerCase();
  return createPerson(t.ctx, { name, email: `${local}@corp.example`, isAdmin: opts.admin ?? false });
}

export async function fresh(t: TestContext, handle: string): Promise<SourceRow> {
  const row = await getSourceByHandle(t.ctx, handle);
  if (!row) throw new Error(`no @${handle}`);
  return row;
}
