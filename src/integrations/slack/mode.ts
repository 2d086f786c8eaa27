import type { Config } from '../../config.js';

export type SlackMode = 'token' | 'oauth' | 'socket';

/**
 * Which Slack setup the configuration asks for, or null when Slack is off. A module of its own, free of
 * Bolt, so the entry point can decide whether to load Slack at all.
 */
export function slackMode(config: Config): SlackMode | null {
  const s = config.slack;
  if (s.appToken && s.botToken) return 'socket';
  if (s.clientId && s.clientSecret && s.stateSecret && s.signingSecret) return 'oauth';
  if (s.botToken && s.signingSecret) return 'token';
  return null;
}
