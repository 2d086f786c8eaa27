import { createHmac, randomBytes } from 'node:crypto';

export const SIGNING_SECRET = 'bench-signing-secret-0123456789abcdef';
export const BOT_TOKEN = 'xoxb-bench-token';
export const TEAM_ID = 'T1';

/** A slash command as Slack sends it: a form body signed with `v0=` HMAC-SHA256 of `v0:<ts>:<body>`. */
export function signedSlashCommand(text: string, userId: string, responseUrl: string): { body: string; headers: Record<string, string> } {
  const body = new URLSearchParams({
    token: 'deprecated-verification-token',
    team_id: TEAM_ID,
    team_domain: 'acme',
    channel_id: 'D0DM',
    channel_name: 'directmessage',
    user_id: userId,
    user_name: userId.toLowerCase(),
    command: '/tp',
    text,
    api_app_id: 'A0TP',
    is_enterprise_install: 'false',
    response_url: responseUrl,
    trigger_id: `${Date.now()}.1.${randomBytes(4).toString('hex')}`,
  }).toString();
  const ts = Math.floor(Date.now() / 1000);
  const sig = createHmac('sha256', SIGNING_SECRET).update(`v0:${ts}:${body}`).digest('hex');
  // Bolt parses form bodies only with exactly this content type.
  return { body, headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-signature': `v0=${sig}`, 'x-slack-request-timestamp': String(ts) } };
}
