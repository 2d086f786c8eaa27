/**
 * The console's one stylesheet, served from the app (CSP `style-src 'self'`). Colours meet WCAG AA
 * contrast (4.5:1 for text); focus is always visible; the layout holds at 375 px wide.
 */
export const CONSOLE_CSS = `
:root {
  --bg: #f6f7f9; --card: #ffffff; --ink: #1b1f24; --muted: #525a65; --line: #d9dde3;
  --brand: #1d4ed8; --brand-ink: #ffffff; --brand-soft: #e8eefc; --ok: #166534; --ok-soft: #e7f6ec;
  --warn: #8a4b00; --warn-soft: #fff4e0; --bad: #b42318; --bad-soft: #fdecea; --focus: #f59e0b;
  --radius: 10px;
  color-scheme: light;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
a { color: var(--brand); }
a:hover { text-decoration-thickness: 2px; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; border-radius: 4px; }
.skip { position: absolute; left: -9999px; top: 0; background: var(--card); padding: 8px 12px; z-index: 10; }
.skip:focus { left: 8px; top: 8px; }
header.top { background: #0f172a; color: #fff; }
header.top .bar { max-width: 1040px; margin: 0 auto; padding: 10px 16px; display: flex; flex-wrap: wrap; align-items: center; gap: 8px 16px; }
header.top .brand { color: #fff; font-weight: 700; font-size: 1.1rem; text-decoration: none; margin-right: auto; display: flex; align-items: center; gap: 8px; }
header.top .brand .dot { width: 12px; height: 12px; border-radius: 50%; background: #60a5fa; display: inline-block; }
header.top .who { color: #cbd5e1; font-size: .9rem; }
header.top form { margin: 0; }
header.top button.link { background: none; border: 1px solid #475569; color: #e2e8f0; padding: 4px 10px; border-radius: 6px; font: inherit; font-size: .9rem; cursor: pointer; }
nav.main { background: #1e293b; }
nav.main ul { max-width: 1040px; margin: 0 auto; padding: 0 8px; list-style: none; display: flex; flex-wrap: wrap; gap: 2px; }
nav.main a { display: block; color: #e2e8f0; text-decoration: none; padding: 9px 10px; font-size: .95rem; border-bottom: 3px solid transparent; }
nav.main a[aria-current="page"] { border-bottom-color: #60a5fa; color: #fff; font-weight: 600; }
nav.main a:hover { color: #fff; background: #334155; }
main { max-width: 1040px; margin: 0 auto; padding: 20px 16px 48px; }
h1 { font-size: 1.6rem; line-height: 1.25; margin: 4px 0 16px; }
h2 { font-size: 1.15rem; margin: 0 0 12px; }
h3 { font-size: 1rem; margin: 0 0 8px; }
p.lead { color: var(--muted); margin-top: -8px; }
.muted { color: var(--muted); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: var(--radius); padding: 16px; margin: 0 0 16px; }
.grid { display: grid; grid-template-columns: minmax(0, 2fr) minmax(0, 1fr); gap: 16px; align-items: start; }
@media (max-width: 760px) { .grid { grid-template-columns: minmax(0, 1fr); } }
.flash { border-radius: var(--radius); padding: 10px 14px; margin: 0 0 16px; border: 1px solid; }
.flash.ok { background: var(--ok-soft); border-color: #a7d8b5; color: var(--ok); }
.flash.error { background: var(--bad-soft); border-color: #f3b8b1; color: var(--bad); }
.secret { display: block; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #0f172a; color: #e2e8f0; padding: 10px 12px; border-radius: 8px; overflow-wrap: anywhere; user-select: all; }
form.stack { display: grid; gap: 10px; }
form.inline { display: inline; margin: 0; }
.row { display: flex; flex-wrap: wrap; gap: 8px; align-items: end; }
.row > * { flex: 1 1 160px; }
.row > .shrink { flex: 0 0 auto; }
.actions { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin-top: 12px; }
fieldset { border: 1px solid var(--line); border-radius: 8px; padding: 6px 12px 10px; margin: 0; }
legend { padding: 0 4px; font-size: .9rem; }
label { display: block; font-weight: 600; font-size: .92rem; margin-bottom: 4px; }
label.check { display: inline-flex; gap: 6px; align-items: center; font-weight: 400; margin-right: 12px; }
.hint { color: var(--muted); font-size: .88rem; margin: 4px 0 0; }
input[type=text], input[type=search], input[type=url], input[type=email], input[type=time], select, textarea {
  width: 100%; font: inherit; color: var(--ink); background: #fff; border: 1px solid #8a94a3; border-radius: 8px; padding: 8px 10px; min-height: 40px; }
textarea { min-height: 84px; resize: vertical; }
input[type=checkbox] { width: 18px; height: 18px; accent-color: var(--brand); }
button, .button { font: inherit; font-weight: 600; border-radius: 8px; padding: 8px 14px; min-height: 40px; cursor: pointer; border: 1px solid var(--brand); background: var(--brand); color: var(--brand-ink); text-decoration: none; display: inline-flex; align-items: center; gap: 6px; }
button.secondary, .button.secondary { background: #fff; color: var(--brand); }
button.danger { background: #fff; color: var(--bad); border-color: var(--bad); }
button.small { min-height: 32px; padding: 4px 10px; font-size: .9rem; }
button:disabled { opacity: .6; cursor: default; }
ul.list { list-style: none; margin: 0; padding: 0; }
ul.list > li { display: flex; flex-wrap: wrap; gap: 8px 12px; align-items: center; padding: 12px 0; border-top: 1px solid var(--line); }
ul.list > li:first-child { border-top: 0; }
ul.list .grow { flex: 1 1 220px; min-width: 0; }
.status { padding: 12px 0; border-top: 1px solid var(--line); }
.status:first-child { border-top: 0; }
.status .meta { font-size: .9rem; color: var(--muted); }
.status .text { white-space: pre-wrap; overflow-wrap: anywhere; margin: 4px 0; }
.avatar { width: 36px; height: 36px; border-radius: 50%; background: var(--brand-soft); color: var(--brand); display: inline-flex; align-items: center; justify-content: center; font-weight: 700; flex: 0 0 36px; }
.avatar.service { border-radius: 8px; background: #ecfdf3; color: var(--ok); }
.badge { display: inline-block; font-size: .78rem; font-weight: 600; padding: 1px 8px; border-radius: 999px; background: #eef0f3; color: #3a414b; vertical-align: middle; }
.badge.ok { background: var(--ok-soft); color: var(--ok); }
.badge.warn { background: var(--warn-soft); color: var(--warn); }
.badge.bad { background: var(--bad-soft); color: var(--bad); }
.badge.brand { background: var(--brand-soft); color: #1e40af; }
table { width: 100%; border-collapse: collapse; font-size: .94rem; }
th, td { text-align: left; padding: 8px 6px; border-top: 1px solid var(--line); vertical-align: top; overflow-wrap: break-word; }
th { font-size: .82rem; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); border-top: 0; }
.table-wrap { overflow-x: auto; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
.pager { margin-top: 12px; }
footer.foot { max-width: 1040px; margin: 0 auto; padding: 0 16px 32px; color: var(--muted); font-size: .9rem; }
.htmx-indicator { opacity: 0; transition: opacity .2s; }
.htmx-request .htmx-indicator, .htmx-request.htmx-indicator { opacity: 1; }
.htmx-request button[type=submit], button.htmx-request { opacity: .7; }
.hero { max-width: 560px; margin: 40px auto; }
.hero ol { padding-left: 20px; }
.hero li { margin: 6px 0; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #eef0f3; padding: 1px 5px; border-radius: 4px; font-size: .92em; }
`;
