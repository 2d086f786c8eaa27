import type { Express } from 'express';
import type { Messenger } from '../pipeline/messenger.js';

/**
 * A chat or delivery integration, registered by main.ts only when configured.
 * It may mount inbound routes on the one express app and/or provide a messenger.
 * Integrations mount their own body parsers: Bolt must see the raw body to check signatures.
 */
export interface Integration {
  readonly name: string;
  mount?(app: Express): void;
  messenger?: Messenger;
  start?(): Promise<void>;
  stop?(): Promise<void>;
}
