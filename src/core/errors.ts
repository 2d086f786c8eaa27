/**
 * Coded domain errors: a stable `code` for programs and a sentence for people.
 * Adapters turn them into an ephemeral reply or an application/problem+json body.
 */
export type ErrorCode =
  | 'invalid' // 400
  | 'unauthenticated' // 401
  | 'forbidden' // 403
  | 'not_found' // 404
  | 'conflict' // 409
  | 'too_large' // 413
  | 'rule' // 422
  | 'rate_limited' // 429
  | 'unavailable'; // 503

export const httpStatusOf: Record<ErrorCode, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  rule: 422,
  rate_limited: 429,
  unavailable: 503,
};

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** The right usage, shown after the mistake in chat (e.g. "Try: whois @handle"). */
    readonly usage?: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const invalid = (msg: string, usage?: string) => new DomainError('invalid', msg, usage);
export const forbidden = (msg: string) => new DomainError('forbidden', msg);
export const notFound = (msg: string, usage?: string) => new DomainError('not_found', msg, usage);
export const rule = (msg: string, usage?: string) => new DomainError('rule', msg, usage);
export const conflict = (msg: string) => new DomainError('conflict', msg);
export const unauthenticated = (msg: string) => new DomainError('unauthenticated', msg);

/** The sentence a person sees: the mistake, then the right usage. */
export function describeError(e: DomainError): string {
  return e.usage ? `${e.message} Try: ${e.usage}` : e.message;
}
