/**
 * The send thread's entry (a `worker_threads` Worker started by `send-lane.ts`): signs and POSTs what the
 * main thread hands it, on pools of its own, and answers in batches. It reads no database and no queue;
 * the address each send may use was checked on the main thread.
 */
import { parentPort } from 'node:worker_threads';
import { createSignedPoster, type PostAnswer, type SignedPost } from './signed-post.js';

if (!parentPort) throw new Error('send-thread.ts runs as a worker thread (send-lane.ts starts it)');
const port = parentPort;

const post = createSignedPoster();
let answers: [number, PostAnswer][] = [];
let flushing = false;

function answer(n: number, a: PostAnswer): void {
  answers.push([n, a]);
  if (flushing) return;
  flushing = true;
  // One message for every answer of this turn of the loop, as the main thread sends its requests.
  setImmediate(() => {
    flushing = false;
    const out = answers;
    answers = [];
    port.postMessage(out);
  });
}

port.on('message', (batch: [number, SignedPost][]) => {
  for (const [n, req] of batch) {
    post(req).then(
      (a) => answer(n, a),
      (err: unknown) => answer(n, { kind: 'no_answer', error: err instanceof Error ? err.message : String(err) }),
    );
  }
});
