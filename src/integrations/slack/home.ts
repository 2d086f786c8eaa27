import type { AppContext } from '../../app/context.js';
import { followsOf, labelOf } from '../../app/follows.js';
import type { SourceRow } from '../../app/people.js';
import { homeTimeline } from '../../app/statuses.js';
import { clipMrkdwn, escapeMrkdwn, link, slackDate, statusMrkdwn, type Block } from './blocks.js';

/** The App Home tab: settings at a glance, what the person follows, and their recent home timeline. */
export async function homeView(ctx: AppContext, person: SourceRow): Promise<{ type: 'home'; blocks: Block[] }> {
  const [timeline, following] = await Promise.all([
    homeTimeline(ctx, person.id, { limit: 10 }),
    followsOf(ctx, [{ kind: 'person', id: person.id }], { limit: 30 }),
  ]);
  const followLines = await Promise.all(
    following.items.map(async (f) => {
      const label = escapeMrkdwn(await labelOf(ctx.db, f));
      const state = f.state === 'active' ? '' : f.state === 'off' ? ' (off)' : ' (awaiting approval)';
      return `• ${label} via ${f.route}${state}`;
    }),
  );
  const digest = person.digestPeriod === 'off' ? 'off' : `${person.digestPeriod} at ${person.digestAt}`;
  const quiet = person.quietStart && person.quietEnd ? `${person.quietStart}-${person.quietEnd} (${escapeMrkdwn(person.timezone)})` : 'none';
  const blocks: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: 'Twitterprise' } },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*You*\n@${escapeMrkdwn(person.handle)}` },
        { type: 'mrkdwn', text: `*Deliveries*\n${person.switchedOff ? 'off — `/tp on` to resume' : 'on'}` },
        { type: 'mrkdwn', text: `*Quiet hours*\n${quiet}` },
        { type: 'mrkdwn', text: `*Email digest*\n${digest}` },
        { type: 'mrkdwn', text: `*Your statuses*\n${person.visibility}` },
        { type: 'mrkdwn', text: `*DMs go to*\n${person.dmPreference === 'last' ? 'where you last used the app' : person.dmPreference}` },
      ],
    },
    { type: 'divider' },
    { type: 'section', text: { type: 'mrkdwn', text: clipMrkdwn(`*You follow*\n${followLines.length ? followLines.join('\n') : 'Nothing yet. Try `/tp follow @handle`.'}`), verbatim: true } },
  ];
  if (following.next) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: 'More: `/tp following`' }] });
  blocks.push({ type: 'divider' }, { type: 'section', text: { type: 'mrkdwn', text: '*Recent*' } });
  if (!timeline.items.length) {
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: 'No statuses from what you follow yet.' }] });
  }
  for (const s of timeline.items) {
    blocks.push(
      { type: 'section', text: { type: 'mrkdwn', text: clipMrkdwn(`*@${escapeMrkdwn(s.source.handle)}* ${statusMrkdwn(s.text, s.entities.urls)}`), verbatim: true } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `${slackDate(s.created_at)} · ${link(s.url, 'link')}` }] },
    );
  }
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: 'Type `/tp help` for every command.' }] });
  return { type: 'home', blocks };
}
