import { pino, type Logger } from 'pino';

export type { Logger };

/** The same warning or error (same message, same error code) is written at most once in this window. */
export const LOG_REPEAT_WINDOW_MS = 10_000;

/**
 * Never a flood: while a dependency is away, every connection and every worker reports the same error
 * many times a second. A warning or error whose message and error code were written less than 10 s ago
 * is counted instead, and the next one written says how many were left out (`repeated`).
 */
function throttleRepeats(): (this: Logger, args: unknown[], method: (...a: unknown[]) => void, level: number) => void {
  const seen = new Map<string, { at: number; skipped: number }>();
  return function (this: Logger, args, method, level) {
    if (level < 40) return method.apply(this, args);
    const first = args[0];
    const obj = first && typeof first === 'object' ? (first as Record<string, unknown>) : null;
    const msg = args.find((a) => typeof a === 'string') ?? '';
    const err = (obj?.err ?? (first instanceof Error ? first : undefined)) as { code?: unknown; message?: unknown } | undefined;
    const key = `${level}\u0000${String(msg)}\u0000${String(err?.code ?? err?.message ?? '')}`;
    const now = Date.now();
    const entry = seen.get(key);
    if (entry && now - entry.at < LOG_REPEAT_WINDOW_MS) {
      entry.skipped++;
      return;
    }
    if (seen.size > 1000) for (const [k, v] of seen) if (now - v.at >= LOG_REPEAT_WINDOW_MS) seen.delete(k);
    seen.set(key, { at: now, skipped: 0 });
    if (entry?.skipped) {
      if (obj && !(first instanceof Error)) return method.apply(this, [{ ...obj, repeated: entry.skipped }, ...args.slice(1)]);
      return method.apply(this, [{ repeated: entry.skipped, ...(first instanceof Error ? { err: first } : {}) }, ...(first instanceof Error ? args.slice(1) : args)]);
    }
    return method.apply(this, args);
  };
}

/** The one root logger; modules take `log.child({ name: '...' })`. */
export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { app: 'twitterprise' }, hooks: { logMethod: throttleRepeats() } });
}
