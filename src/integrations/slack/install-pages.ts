import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Installation } from '@slack/bolt';
import { escapeHtml } from '../../core/html.js';
import type { Logger } from '../../log.js';
import { htmlDocument, PAGE_CSP } from '../../web/html-page.js';
import { INSTALL_PATH } from './scopes.js';

/**
 * The pages a person sees at the end of the Slack install (GET /slack/oauth_redirect), instead of
 * Bolt's defaults (whose failure page answers 500 even when the person only pressed Cancel): the
 * status page's HTML shell, one sentence, and a link back (docs/security.md, class 6).
 */
function send(res: ServerResponse, status: number, title: string, body: string): void {
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
    // The URL carried an OAuth code and state: keep them out of Referer headers and search indexes.
    'Referrer-Policy': 'no-referrer',
    'X-Robots-Tag': 'noindex',
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': `${PAGE_CSP}; frame-ancestors 'none'`,
  });
  res.end(htmlDocument(title, `<h1 style="font-size:20px">${escapeHtml(title)}</h1>${body}`));
}

const CODES = {
  cancelled: 'slack_oauth_installer_authorization_error',
  missingState: 'slack_oauth_missing_state',
  invalidState: 'slack_oauth_invalid_state',
  missingCode: 'slack_oauth_missing_code',
} as const;

export function installCallbacks(publicUrl: string, log: Logger) {
  const again = `<p><a href="${escapeHtml(`${publicUrl}${INSTALL_PATH}`)}">Start the installation again</a></p>`;
  return {
    success: (installation: Installation, _options: unknown, _req: IncomingMessage, res: ServerResponse) => {
      const team = installation.team?.name ?? installation.enterprise?.name;
      const teamId = installation.team?.id;
      const where = team ? ` in ${escapeHtml(team)}` : '';
      const open = teamId ? `<p><a href="${escapeHtml(`https://slack.com/app_redirect?team=${encodeURIComponent(teamId)}`)}">Open Slack</a></p>` : '';
      send(res, 200, 'Twitterprise is installed', `<p>Twitterprise is now installed${where}. In Slack, type <code>/tp help</code> to see what it can do.</p>${open}`);
    },
    failure: (error: Error & { code?: string }, _options: unknown, _req: IncomingMessage, res: ServerResponse) => {
      switch (error.code) {
        case CODES.cancelled:
          log.info('slack install cancelled by the person installing');
          return send(res, 200, 'Installation cancelled', `<p>Twitterprise was not installed: the installation was cancelled in Slack. Nothing was changed.</p>${again}`);
        case CODES.missingState:
        case CODES.invalidState:
        case CODES.missingCode:
          log.info({ code: error.code }, 'slack install callback refused: expired or foreign link');
          return send(res, 400, 'This installation link has expired', `<p>Twitterprise was not installed: this link was not started in this browser, or it has expired.</p>${again}`);
        default:
          log.warn({ code: error.code, reason: error.message }, 'slack install failed');
          return send(res, 502, 'Installation failed', `<p>Twitterprise could not finish the installation with Slack. Nothing was changed; please try again.</p>${again}`);
      }
    },
  };
}
