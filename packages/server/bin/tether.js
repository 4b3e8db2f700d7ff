#!/usr/bin/env node
// The `tether` command as npm links it: loads the built CLI. Committed (dist/ is not), so that
// `npx tether` works in the repo right after `npm install`, and says what to do before a build.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write(
    'tether: the CLI is not built (packages/server/dist/cli.js is missing): run npm run build first\n',
  );
  process.exit(1);
}
await import(cli.href);
