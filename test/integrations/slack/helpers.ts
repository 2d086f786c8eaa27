import { createHmac, randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { AppContext } from '../../../src/app/context.js';
import { createSlackIntegration, type SlackIntegrationOptions } from '../../../src/integrations/slack/index.js';
import type { Integration } from '../../../src/integrations/types.js';

export const SIGNING_SECRET = 'test-signing-secret-0123456789abcdef';
export const BOT_TOKEN = 'xoxb-test-token';
export const TEAM_ID = 'T1';

/** Environment for a single-workspace Slack app talking to the fake Web API. */
export function slackEnv(apiUrl: string): Record<string, string> {
  return { SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_API_URL: apiUrl };
}

/**
 * Slack's request signature (https://docs.slack.dev/authentication/verifying-requests-from-slack):
 * `v0=` + hex HMAC-SHA256(signing secret, `v0:<timestamp>:<raw body>`), sent with the timestamp.
 */
export function signSlackRequest(secret: string, body: string, ts: number = Math.floor(Date.now() / 1000)): Record<string, string> {
  const sig = createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex');
  return { 'x-slack-signature': `v0=${sig}`, 'x-slack-request-timestamp': String(ts) };
}

export interface SendOptions {
  secret?: string;
  /** Unix seconds; default now. */
  ts?: number;
  /** X-Slack-Retry-Num, as Slack sends on redelivery. */
  retryNum?: number;
  retryReason?: string;
  /** Replaces the signature with garbage. */
  badSignature?: boolean;
}

export interface SlackResponse {
  status: number;
  text: string;
  json: Record<string, unknown> | null;
}

/** POSTs a raw body to /slack/events, signed exactly as Slack signs it. */
export async function postToSlackEndpoint(baseUrl: string, body: string, contentType: string, o: SendOptions = {}): Promise<SlackResponse> {
  const headers: Record<string, string> = { 'content-type': contentType, ...signSlackRequest(o.secret ?? SIGNING_SECRET, body, o.ts) };
  if (o.badSignature) headers['x-slack-signature'] = `v0=${'0'.repeat(64)}`;
  if (o.retryNum !== undefined) {
    headers['x-slack-retry-num'] = String(o.retryNum);
    headers['x-slack-retry-reason'] = o.retryReason ?? 'http_timeout';
  }
  const res = await fetch(`${baseUrl}/slack/events`, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let json: Record<string, unknown> | null = null;
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : null;
  } catch {
    json = null;
  }
  return { status: res.status, text, json };
}

/** Slack sends slash commands and interactivity as a form; Bolt parses only this exact content type. */
const FORM = 'application/x-www-form-urlencoded';

export interface SlashCommandFields {
  text: string;
  user_id: string;
  team_id?: string;
  channel_id?: string;
  channel_name?: string;
  user_name?: string;
  response_url?: string;
  enterprise_id?: string;
}

export function slashCommandBody(f: SlashCommandFields): string {
  const fields: Record<string, string> = {
    token: 'deprecated-verification-token',
    team_id: f.team_id ?? TEAM_ID,
    team_domain: 'acme',
    channel_id: f.channel_id ?? 'D0DM',
    channel_name: f.channel_name ?? 'directmessage',
    user_id: f.user_id,
    user_name: f.user_name ?? f.user_id.toLowerCase(),
    command: '/tp',
    text: f.text,
    api_app_id: 'A0TP',
    is_enterprise_install: 'false',
    response_url: f.response_url ?? 'http://127.0.0.1:9/unused',
    trigger_id: `${Date.now()}.1.${randomBytes(4).toString('hex')}`,
  };
  if (f.enterprise_id) fields.enterprise_id = f.enterprise_id;
  return new URLSearchParams(fields).toString();
}

export function sendSlashCommand(baseUrl: string, f: SlashCommandFields, o: SendOptions = {}): Promise<SlackResponse> {
  return postToSlackEndpoint(baseUrl, slashCommandBody(f), FORM, o);
}

let eventSeq = 0;
export function newEventId(): string {
  eventSeq += 1;
  return `Ev${Date.now().toString(36).toUpperCase()}${eventSeq}`;
}

/** An Events API `event_callback` envelope around `event`. */
export function eventCallback(event: Record<string, unknown>, o: { teamId?: string; eventId?: string; botUserId?: string } = {}): Record<string, unknown> {
  const teamId = o.teamId ?? TEAM_ID;
  return {
    token: 'deprecated-verification-token',
    team_id: teamId,
    api_app_id: 'A0TP',
    event: { event_ts: event.ts ?? `${Date.now() / 1000}`, ...event },
    type: 'event_callback',
    event_id: o.eventId ?? newEventId(),
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ enterprise_id: null, team_id: teamId, user_id: o.botUserId ?? 'UBOT', is_bot: true, is_enterprise_install: false }],
    is_ext_shared_channel: false,
  };
}

export function sendEvent(baseUrl: string, envelope: Record<string, unknown>, o: SendOptions = {}): Promise<SlackResponse> {
  return postToSlackEndpoint(baseUrl, JSON.stringify(envelope), 'application/json', o);
}

let tsSeq = 0;
/** A message ts as Slack writes it: seconds.microseconds, unique. */
export function messageTs(): string {
  tsSeq += 1;
  return `${Math.floor(Date.now() / 1000)}.${String(100000 + tsSeq).padStart(6, '0')}`;
}

/** A `message` event: channel_type `im` for the app's DM, `channel` / `group` for channels. */
export function messageEvent(f: { user: string; text: string; channel: string; channel_type: 'im' | 'channel' | 'group'; ts?: string; [k: string]: unknown }): Record<string, unknown> {
  return { type: 'message', ts: f.ts ?? messageTs(), ...f };
}

/** Interactivity: Slack posts the JSON payload as the form field `payload`. */
export function sendInteraction(baseUrl: string, payload: Record<string, unknown>, o: SendOptions = {}): Promise<SlackResponse> {
  return postToSlackEndpoint(baseUrl, new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), FORM, o);
}

/** A block_actions payload for one button press. */
export function buttonPress(f: { userId: string; actionId: string; value: string; responseUrl: string; teamId?: string; channel?: string; messageTs?: string }): Record<string, unknown> {
  const teamId = f.teamId ?? TEAM_ID;
  return {
    type: 'block_actions',
    user: { id: f.userId, username: f.userId.toLowerCase(), team_id: teamId },
    api_app_id: 'A0TP',
    token: 'deprecated-verification-token',
    container: { type: 'message', message_ts: f.messageTs ?? '1.000001', channel_id: f.channel ?? 'D0DM', is_ephemeral: false },
    trigger_id: `${Date.now()}.1.abc`,
    team: { id: teamId, domain: 'acme' },
    channel: { id: f.channel ?? 'D0DM', name: 'directmessage' },
    message: { type: 'message', ts: f.messageTs ?? '1.000001', text: 'request' },
    response_url: f.responseUrl,
    actions: [{ type: 'button', action_id: f.actionId, block_id: `follow_request:${f.value}`, value: f.value, text: { type: 'plain_text', text: 'x' }, action_ts: `${Date.now() / 1000}` }],
  };
}

export interface SlackHarness {
  baseUrl: string;
  integration: Integration;
  server: Server;
  close(): Promise<void>;
}

/**
 * An express app with the Slack integration mounted (and nothing else: no body parser in front of
 * Bolt), listening on 127.0.0.1 on a free port.
 */
export async function startSlackHarness(ctx: AppContext, opts: SlackIntegrationOptions = { botId: 'BBOT', botUserId: 'UBOT' }): Promise<SlackHarness> {
  const app = express();
  const integration = createSlackIntegration(ctx, opts);
  integration.mount?.(app);
  await integration.start?.();
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const port = (server.address() as AddressInfo).port;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    integration,
    server,
    async close() {
      await integration.stop?.();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
