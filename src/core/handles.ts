import { invalid } from './errors.js';

export const HANDLE_RE = /^[a-z0-9][a-z0-9_-]{0,31}$/;

export function isHandle(s: string): boolean {
  return HANDLE_RE.test(s);
}

/** "@Jane" -> "jane"; throws with usage when it is not a handle. */
export function parseHandle(raw: string, usage?: string): string {
  const h = raw.trim().replace(/^@/, '').toLowerCase();
  if (!isHandle(h)) {
    throw invalid(`"${raw}" is not a handle: handles are 1 to 32 lowercase letters, digits, - or _.`, usage);
  }
  return h;
}

/** `Jane.Doe@x.com` -> `jane-doe`: the email's local part, lowercased, other characters folded to `-`. */
export function handleFromEmail(email: string): string {
  const local = (email.split('@')[0] ?? '').toLowerCase();
  let h = local
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[-_]+/, '')
    .replace(/-+$/, '')
    .slice(0, 32);
  if (!h) h = 'user';
  return h;
}

/** Candidate handles for a clash: base, base2, base3... kept within 32 characters. */
export function* handleCandidates(base: string): Generator<string> {
  yield base;
  for (let n = 2; ; n++) {
    const suffix = String(n);
    yield `${base.slice(0, 32 - suffix.length)}${suffix}`;
  }
}
