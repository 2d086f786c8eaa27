export const ROOT: string;
export const DIST: string;
/** Why dist/ must be built again, or null when it is up to date. */
export function staleReason(): string | null;
/** Runs tsc; 0 when dist/ was built without errors. */
export function buildDist(opts: { quiet: boolean }): number;
/** Builds when dist/ is missing or stale; false (after saying why) when that failed. */
export function ensureBuilt(): boolean;
