import { DestinationRefused, NameNotResolved, resolveAndCheck, type LookupFn } from '../../net/address-guard.js';
import { createSignedPoster, type PostAnswer, type SignedPoster } from '../../net/signed-post.js';

export interface WebhookRequest {
  url: string;
  secret: string;
  /** `webhook-id`: the delivery id, stable across retries and re-sends. */
  id: string;
  /** The JSON body, exactly as signed. */
  body: string;
  timeoutMs: number;
  allowPrivate: boolean;
  lookup?: LookupFn;
  /** Signing time; receivers compare it with their own clock (+-5 minutes), so it is real time. */
  now?: () => Date;
  /** Who signs and POSTs once the destination is checked: this thread's pools unless given (the send thread's, `send-lane.ts`). */
  post?: SignedPoster;
}

export type WebhookResponse =
  | PostAnswer
  /** Not sent: the host resolves to an address we may not call. */
  | { kind: 'refused'; reason: string };

/** This thread's keep-alive pools and signing (`signed-post.ts`). */
const postHere = createSignedPoster();

/**
 * POSTs one signed event. Resolves and checks the host on every call (DNS may have changed); the send
 * itself connects only to the address checked. A name that does not resolve is "no answer".
 */
export async function sendWebhook(req: WebhookRequest): Promise<WebhookResponse> {
  const url = new URL(req.url);
  let address;
  try {
    address = await resolveAndCheck(url, { allowPrivate: req.allowPrivate, lookup: req.lookup });
  } catch (err) {
    if (err instanceof NameNotResolved) return { kind: 'no_answer', error: err.reason };
    if (err instanceof DestinationRefused) return { kind: 'refused', reason: err.reason };
    throw err;
  }
  return (req.post ?? postHere)({ url, address, secret: req.secret, id: req.id, body: req.body, timeoutMs: req.timeoutMs, ...(req.now ? { at: req.now().getTime() } : {}) });
}
