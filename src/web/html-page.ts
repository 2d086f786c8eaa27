import { escapeHtml } from '../core/html.js';

/**
 * The few pages people open in a browser (a status, the unsubscribe confirmation): one small document,
 * styled inline, no scripts. `body` is HTML the caller has escaped; `head` adds to the head.
 */
export function htmlDocument(title: string, body: string, head = ''): string {
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(title)}</title>${head}</head>` +
    `<body style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:520px;margin:40px auto;padding:0 16px;line-height:1.5">${body}</body></html>`
  );
}

/** No scripts, no frames, nothing loaded from elsewhere: inline styles and same-origin forms only. */
export const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'";
