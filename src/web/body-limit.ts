import express, { type RequestHandler } from 'express';
import { DomainError } from '../core/errors.js';

/** Every request body is refused above 64 KiB (SPEC section 3). Integrations should pass it to their parsers (Bolt: `bodyLimit`). */
export const BODY_LIMIT_BYTES = 64 * 1024;

/** The one sentence for a body over the limit, whichever check finds it (and the API reference's example). */
export const tooLargeSentence = (max = BODY_LIMIT_BYTES) => `The body is larger than ${max / 1024} KiB.`;

/**
 * Refuses a declared Content-Length above the limit before any parser runs. It reads nothing,
 * so the raw stream stays intact for Bolt's signature check when the body is small enough.
 * Chunked bodies (no Content-Length) are caught by each parser's own `limit`.
 */
export function bodyLimit(max = BODY_LIMIT_BYTES): RequestHandler {
  return (req, res, next) => {
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > max) {
      // The rest of the body is never read; close the connection so it is not parsed as the next request.
      res.setHeader('Connection', 'close');
      next(new DomainError('too_large', tooLargeSentence(max)));
      return;
    }
    next();
  };
}

export const jsonBody = (): RequestHandler => express.json({ limit: BODY_LIMIT_BYTES, type: ['application/json', 'application/*+json'] });

export const textBody = (): RequestHandler => express.text({ limit: BODY_LIMIT_BYTES, type: 'text/*' });

/** A form body (curl -d's default) as its raw text: the hook route decodes it itself (`text` field, else the whole body). */
export const formText = (): RequestHandler => express.text({ limit: BODY_LIMIT_BYTES, type: 'application/x-www-form-urlencoded' });
