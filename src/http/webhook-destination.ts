import type { DestinationCheck } from '../app/webhooks.js';
import type { Config } from '../config.js';
import { invalid } from '../core/errors.js';
import { DestinationRefused, resolveAndCheck, type LookupFn } from '../net/address-guard.js';

/**
 * The save-time half of the SSRF rule (SPEC section 4): the URL's host is resolved and every address
 * must be public unless ALLOW_PRIVATE_URLS=true. The send-time half lives in the webhook sender.
 */
export function webhookDestinationCheck(config: Pick<Config, 'net'>, lookup?: LookupFn): DestinationCheck {
  return async (url) => {
    try {
      await resolveAndCheck(url, { allowPrivate: config.net.allowPrivateUrls, ...(lookup ? { lookup } : {}) });
    } catch (e) {
      if (e instanceof DestinationRefused) throw invalid(`The webhook URL is refused: ${e.reason}.`);
      throw e;
    }
  };
}
