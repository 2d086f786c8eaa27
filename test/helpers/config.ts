import { ConfigError, parseConfig } from '../../src/config.js';

/** The problems start-up would print for `env`, one per line; [] when the configuration is accepted. */
export function configProblems(env: Record<string, string>): string[] {
  try {
    parseConfig(env);
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
}
