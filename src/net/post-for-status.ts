import type { Dispatcher } from 'undici';

export interface PostForStatus {
  path: string;
  headers: Record<string, string>;
  body: string;
  /** Bounds the wait for the answer's head, and then each wait for more of its body. */
  timeoutMs: number;
}

export interface StatusAnswer {
  status: number;
  /** The `Location` of a redirect (3xx), which is reported, never followed. */
  location?: string;
}

/** An answer's body is read and dropped up to this much; past it the connection is closed (as undici's `dump()`). */
export const BODY_LIMIT = 128 * 1024;

/**
 * POSTs and resolves with the answer's status once its body has been read and dropped, so the connection
 * goes back to its pool. A webhook's answer matters only by its status (and a redirect's Location):
 * undici's `request()` builds a parsed header object, a body stream and an async resource for each one,
 * which was a visible share of a fan-out's CPU per delivery. This handler keeps two fields. Errors are
 * undici's own (`UND_ERR_HEADERS_TIMEOUT`, `UND_ERR_SOCKET`, ECONNREFUSED...), as `request()` rejects with.
 */
export function postForStatus(dispatcher: Dispatcher, req: PostForStatus): Promise<StatusAnswer> {
  return new Promise<StatusAnswer>((resolve, reject) => {
    let answer: StatusAnswer | null = null;
    let read = 0;
    let settled = false;
    const handler: Dispatcher.DispatchHandler = {
      // Its presence marks this a handler of undici 7's controller API (undici checks for it).
      onRequestStart() {},
      onResponseStart(_controller, statusCode, headers) {
        // 1xx (100 Continue, 103 Early Hints): the real answer follows.
        if (statusCode < 200) return;
        answer = { status: statusCode };
        const location = headers.location;
        if (statusCode >= 300 && statusCode < 400 && typeof location === 'string') answer.location = location;
      },
      onResponseData(controller, chunk) {
        read += chunk.length;
        if (read > BODY_LIMIT && answer && !settled) {
          // Enough: the status is known, and this connection will not be reused.
          settled = true;
          resolve(answer);
          controller.abort(new Error('answer body over the limit'));
        }
      },
      onResponseEnd() {
        if (settled) return;
        settled = true;
        if (answer) resolve(answer);
        else reject(new Error('the answer ended before its status line'));
      },
      onResponseError(_controller, err) {
        if (settled) return;
        settled = true;
        reject(err);
      },
    };
    try {
      dispatcher.dispatch({ method: 'POST', path: req.path, headers: req.headers, body: req.body, headersTimeout: req.timeoutMs, bodyTimeout: req.timeoutMs }, handler);
    } catch (err) {
      settled = true;
      reject(err as Error);
    }
  });
}
