import { pino, type Logger } from 'pino';

export type { Logger };

/** The one root logger; modules take `log.child({ name: '...' })`. */
export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { app: 'twitterprise' } });
}
