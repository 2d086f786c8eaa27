export type Maybe<T> = T | undefined | null | false;

export interface WaitOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** Poll interval (default 20 ms). */
  everyMs?: number;
  /** A probe that throws is polled again (a dependency coming back), its last error named on timeout. */
  tolerateErrors?: boolean;
}

/** Polls `probe` until it returns something truthy and returns that; throws naming `what` after the timeout. */
export async function waitUntil<T>(probe: () => Promise<Maybe<T>> | Maybe<T>, what: string, opts: WaitOptions | number = {}): Promise<NonNullable<T>> {
  const { timeoutMs = 10_000, everyMs = 20, tolerateErrors = false } = typeof opts === 'number' ? { timeoutMs: opts } : opts;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      if (!tolerateErrors) throw e;
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
