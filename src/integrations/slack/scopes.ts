/**
 * What the Slack app asks for. manifests/slack.yaml must list exactly these (a test holds them together).
 * Each scope is here because a call or event below needs it.
 */
export const SLACK_BOT_SCOPES = [
  'commands', // the /tp slash command
  'chat:write', // chat.postMessage, chat.update, chat.delete, chat.postEphemeral
  'chat:write.public', // `channel follow` in a public channel the bot was never invited to
  'im:write', // conversations.open for a person's DM
  'channels:history', // message.channels: `channel publish` in public channels
  'groups:history', // message.groups: `channel publish` in private channels
  'im:history', // message.im: commands typed in the app's DM
  'users:read', // users.info: name and time zone of a new person
  'users:read.email', // users.info profile.email: one person across Slack, Teams and email
  'channels:read', // channel_left: the bot removed from a public channel ends that channel's follows
  'groups:read', // group_left: the same for a private channel
] as const;

/** Events the app subscribes to as its bot user. The two uninstall events need no scope. */
export const SLACK_BOT_EVENTS = [
  'app_home_opened',
  'message.channels',
  'message.groups',
  'message.im',
  'app_uninstalled',
  'tokens_revoked',
  'channel_left',
  'group_left',
] as const;

export const SLASH_COMMAND = '/tp';

/** The one Bolt endpoint: slash commands, Events API and interactivity. */
export const EVENTS_PATH = '/slack/events';
export const INSTALL_PATH = '/slack/install';
export const OAUTH_REDIRECT_PATH = '/slack/oauth_redirect';

export const ACTION_APPROVE = 'tp_follow_approve';
export const ACTION_DENY = 'tp_follow_deny';
