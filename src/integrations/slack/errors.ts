import { webApi } from '@slack/bolt';
import type { SendOutcome } from '../../pipeline/messenger.js';

/**
 * Slack error codes that no retry will fix and that are nobody's fault: the workspace uninstalled the
 * app, the channel or person is gone, or Slack will not let the bot write there.
 */
const SKIP_CODES: Record<string, string> = {
  account_inactive: 'the app is uninstalled or its token is disabled',
  token_revoked: 'the app is uninstalled from the workspace',
  invalid_auth: 'the app is uninstalled from the workspace',
  not_authed: 'the app has no token for the workspace',
  team_access_not_granted: 'the app has no access to the workspace',
  is_archived: 'the channel is archived',
  channel_not_found: 'the channel no longer exists or the app cannot see it',
  not_in_channel: 'the app is not in the channel',
  restricted_action: 'the workspace does not let the app post there',
  user_not_found: 'the person no longer exists in Slack',
  user_disabled: 'the person is deactivated in Slack',
  user_not_visible: 'the person is not visible to the app',
  cannot_dm_bot: 'the person is a bot',
  missing_scope: 'the app lacks a permission (reinstall it)',
};

export function slackErrorCode(err: unknown): string | undefined {
  if (err && typeof err === 'object' && (err as { code?: unknown }).code === webApi.ErrorCode.PlatformError) {
    return (err as webApi.WebAPIPlatformError).data.error;
  }
  return undefined;
}

export function isRateLimited(err: unknown): err is webApi.WebAPIRateLimitedError {
  return !!err && typeof err === 'object' && (err as { code?: unknown }).code === webApi.ErrorCode.RateLimitedError;
}

/** What a failed Web API call means for a delivery: wait and retry, skip for good, or retry later. */
export function outcomeOfError(err: unknown): Exclude<SendOutcome, { kind: 'sent' }> {
  if (isRateLimited(err)) {
    // Retry-After is in seconds (Slack tier limits); the delivery job waits exactly that long.
    return { kind: 'retry', error: 'rate limited by Slack', retryAfterMs: Math.max(0, err.retryAfter) * 1000 };
  }
  const code = slackErrorCode(err);
  if (code && code in SKIP_CODES) return { kind: 'skip', reason: `${code}: ${SKIP_CODES[code]}` };
  if (code) return { kind: 'retry', error: `slack: ${code}` };
  return { kind: 'retry', error: err instanceof Error ? err.message : String(err) };
}
