#!/usr/bin/env node
// `npm run build`: compiles src/ to dist/ with tsc (tsconfig.build.json), then stamps dist/ so that
// `npm start` and the `twitterprise` command can tell whether dist/ is older than src/.
import { buildDist } from './dist-freshness.js';

process.exit(buildDist({ quiet: false }));
