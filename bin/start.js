#!/usr/bin/env node
// `npm start` (and `npm run web|worker`): builds dist/ first when it is missing or older than src/, then
// runs the compiled app in this same process, so node itself receives the supervisor's signals.
import { ensureBuilt } from './dist-freshness.js';

if (!ensureBuilt()) process.exit(1);
const { main } = await import('../dist/main.js');
await main(process.argv.slice(2));
