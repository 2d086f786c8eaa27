import { LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import type { Logger } from '../../log.js';

/**
 * Said by Bolt and its OAuth installer about things our own handlers already log once, at the right
 * level: an event from a workspace without an installation (index.ts, app.error), and an install that
 * was cancelled or came back with a stale state (install-pages.ts).
 */
const HANDLED_ELSEWHERE = [/^Authorization of incoming event did not succeed/, /slack_oauth_(installer_authorization_error|missing_state|invalid_state|missing_code)/, /^AuthorizationError: User cancelled/, /^(InvalidStateError|MissingStateError|MissingCodeError)/];

const handledElsewhere = (line: string) => HANDLED_ELSEWHERE.some((re) => re.test(line));

/** Bolt and the Web API client log through our pino child; their own level setting is ignored. */
export function boltLogger(log: Logger): BoltLogger {
  const line = (msg: unknown[]) => msg.map(String).join(' ');
  return {
    debug: (...msg: unknown[]) => log.debug(line(msg)),
    info: (...msg: unknown[]) => log.info(line(msg)),
    warn: (...msg: unknown[]) => (handledElsewhere(line(msg)) ? log.debug(line(msg)) : log.warn(line(msg))),
    error: (...msg: unknown[]) => (handledElsewhere(line(msg)) ? log.debug(line(msg)) : log.error(line(msg))),
    setLevel: () => {},
    getLevel: () => (log.isLevelEnabled('debug') ? LogLevel.DEBUG : LogLevel.INFO),
    setName: () => {},
  };
}
