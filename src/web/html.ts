import { escapeHtml } from '../core/html.js';

/**
 * HTML by tagged template, escaped by default: every interpolated value is escaped unless it is itself
 * `Html` (made by `html` or, for markup we built ourselves, `trustedHtml`). Arrays are joined; null,
 * undefined and false render nothing, so `${cond && html`...`}` works.
 *
 *   html`<p>${userText}</p>`        -> text escaped
 *   html`<ul>${items.map((i) => html`<li>${i}</li>`)}</ul>`
 */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(v: HtmlValue): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof Html) return v.value;
  if (Array.isArray(v)) return (v as readonly HtmlValue[]).map(render).join('');
  return escapeHtml(String(v as string | number | boolean));
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new Html(out);
}

/** Markup that is already safe (built by us, never from input). */
export const trustedHtml = (s: string): Html => new Html(s);
