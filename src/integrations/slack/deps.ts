import type { AppContext } from '../../app/context.js';
import type { Logger } from '../../log.js';
import type { SlackDirectory } from './directory.js';
import type { DbInstallationStore } from './installation-store.js';

/** What the Bolt listeners share. */
export interface SlackDeps {
  ctx: AppContext;
  log: Logger;
  directory: SlackDirectory;
  /** Multi-workspace mode only. */
  store?: DbInstallationStore | undefined;
}
