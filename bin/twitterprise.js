#!/usr/bin/env node
// The `twitterprise` command (`npx twitterprise migrate`, ...): the compiled CLI in dist/, run in this
// process. In a checkout, dist/ is built first when it is missing or older than src/.
import { ensureBuilt } from './dist-freshness.js';

if (!ensureBuilt()) process.exit(1);
const { runCli, explain } = await import('../dist/cli.js');
runCli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`${explain(e)}\n`);
    process.exit(1);
  },
);
