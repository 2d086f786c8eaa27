import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import {
  EVENTS_PATH,
  OAUTH_REDIRECT_PATH,
  SLACK_BOT_EVENTS,
  SLACK_BOT_SCOPES,
  SLASH_COMMAND,
} from '../../../src/integrations/slack/scopes.js';

const manifestSchema = z.object({
  _metadata: z.object({ major_version: z.literal(2) }),
  display_information: z.object({ name: z.string().min(1).max(35), description: z.string().max(140) }),
  features: z.object({
    app_home: z.object({ home_tab_enabled: z.boolean(), messages_tab_enabled: z.boolean(), messages_tab_read_only_enabled: z.boolean() }),
    bot_user: z.object({ display_name: z.string().min(1).max(80) }),
    slash_commands: z.array(z.object({ command: z.string(), url: z.string().url(), description: z.string(), should_escape: z.boolean() })),
  }),
  oauth_config: z.object({ redirect_urls: z.array(z.string().url()), scopes: z.object({ bot: z.array(z.string()) }) }),
  settings: z.object({
    event_subscriptions: z.object({ request_url: z.string().url(), bot_events: z.array(z.string()) }),
    interactivity: z.object({ is_enabled: z.boolean(), request_url: z.string().url() }),
    socket_mode_enabled: z.boolean(),
    token_rotation_enabled: z.boolean(),
  }),
});

const manifest = manifestSchema.parse(parse(readFileSync(new URL('../../../manifests/slack.yaml', import.meta.url), 'utf8')));
const path = (u: string) => new URL(u).pathname;

describe('manifests/slack.yaml', () => {
  it('asks for exactly the bot scopes the code uses', () => {
    expect([...manifest.oauth_config.scopes.bot].sort()).toEqual([...SLACK_BOT_SCOPES].sort());
  });

  it('subscribes to exactly the bot events the code handles', () => {
    expect([...manifest.settings.event_subscriptions.bot_events].sort()).toEqual([...SLACK_BOT_EVENTS].sort());
  });

  it('sends the slash command, events and interactivity to the one Bolt endpoint', () => {
    const [command] = manifest.features.slash_commands;
    expect(manifest.features.slash_commands).toHaveLength(1);
    expect(command!.command).toBe(SLASH_COMMAND);
    // Mentions must arrive as user ids (<@U123|name>) for the adapter to resolve them.
    expect(command!.should_escape).toBe(true);
    expect(path(command!.url)).toBe(EVENTS_PATH);
    expect(path(manifest.settings.event_subscriptions.request_url)).toBe(EVENTS_PATH);
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    expect(path(manifest.settings.interactivity.request_url)).toBe(EVENTS_PATH);
    expect(manifest.oauth_config.redirect_urls.map(path)).toEqual([OAUTH_REDIRECT_PATH]);
    const hosts = new Set([command!.url, manifest.settings.event_subscriptions.request_url, manifest.settings.interactivity.request_url, ...manifest.oauth_config.redirect_urls].map((u) => new URL(u).origin));
    expect(hosts.size).toBe(1);
  });

  it('has the App Home tab and a writable Messages tab (commands can be typed in the DM)', () => {
    expect(manifest.features.app_home).toEqual({ home_tab_enabled: true, messages_tab_enabled: true, messages_tab_read_only_enabled: false });
    expect(manifest.settings.socket_mode_enabled).toBe(false);
    // The installation store keeps no refresh tokens.
    expect(manifest.settings.token_rotation_enabled).toBe(false);
  });
});
