import { Worker } from 'node:worker_threads';
import type { PostAnswer, SignedPost, SignedPoster } from './signed-post.js';

/** A send the thread took and has not answered yet. */
interface Pending {
  resolve: (a: PostAnswer) => void;
  reject: (err: Error) => void;
}

/**
 * Built JavaScript starts the thread's built file. Run from TypeScript source (tsx, vitest), the thread
 * registers tsx's loader before it imports its entry (a worker does not inherit the parent's hooks).
 */
function startThread(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./send-thread.js', import.meta.url));
  const entry = new URL('./send-thread.ts', import.meta.url).href;
  return new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`, { eval: true });
}

/**
 * Webhook sends on a thread of their own (WEBHOOK_SEND_THREAD): the signing, undici and the socket writes,
 * about a quarter of a fan-out's main thread (docs/benchmarks.md), run beside the rows and the queue instead
 * of between them. Sends go over in one message per turn of the loop and their answers come back the same
 * way. The thread starts with the first send; if it dies, every send it held is rejected (the channel
 * retries them, as any send that threw) and the next send starts a new one. It holds the process open only
 * while it has sends in flight.
 */
export class SendLane {
  private thread: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private outbox: [number, SignedPost][] = [];
  private flushScheduled = false;
  private next = 0;

  /** The send thread's poster: the same contract as `createSignedPoster()`'s. */
  readonly post: SignedPoster = (req) =>
    new Promise<PostAnswer>((resolve, reject) => {
      const n = ++this.next;
      this.pending.set(n, { resolve, reject });
      this.outbox.push([n, typeof req.url === 'string' ? req : { ...req, url: req.url.href }]);
      if (this.pending.size === 1) this.threadNow().ref();
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });

  /** Sends held (handed over or about to be) and not yet answered. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Stops the thread; sends it still held are rejected. */
  async close(): Promise<void> {
    const t = this.thread;
    if (t) await t.terminate();
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.outbox;
    this.outbox = [];
    if (batch.length) this.threadNow().postMessage(batch);
  }

  private threadNow(): Worker {
    if (this.thread) return this.thread;
    const t = startThread();
    t.on('message', (answers: [number, PostAnswer][]) => {
      for (const [n, a] of answers) {
        const p = this.pending.get(n);
        if (!p) continue;
        this.pending.delete(n);
        p.resolve(a);
      }
      if (!this.pending.size) t.unref();
    });
    const stopped = (why: string) => {
      if (this.thread !== t) return;
      this.thread = null;
      // Sends not yet handed over go to the next thread; those it held are lost with it.
      const waiting = new Set(this.outbox.map(([n]) => n));
      for (const [n, p] of this.pending) {
        if (waiting.has(n)) continue;
        this.pending.delete(n);
        p.reject(new Error(`the send thread stopped (${why}) before this send was answered`));
      }
      if (this.outbox.length && !this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    };
    t.on('error', (err) => stopped(err.message));
    t.on('exit', (code) => stopped(`exit code ${code}`));
    this.thread = t;
    return t;
  }
}
