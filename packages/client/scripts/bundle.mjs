#!/usr/bin/env node
/**
 * Builds the browser bundle `dist/tether-client.browser.js` (ESM, everything inlined: the SDK,
 * socket.io-client, @tether/protocol and zod) from `src/index.ts`. Run after `tsc -b` (the protocol
 * package is read from its `dist/`). The build fails when anything pulls in a Node built-in: the
 * SDK must run in a browser as is, and a polyfill should be a decision, not an accident.
 */
import { builtinModules } from 'node:module';
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
// `--entry <file> --outfile <file>` exist to check the guard itself; the build uses the defaults.
const arg = (name) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : undefined;
};
const entry = arg('--entry') ?? `${root}src/index.ts`;
const outfile = arg('--outfile') ?? `${root}dist/tether-client.browser.js`;
const builtins = new Set(builtinModules.filter((name) => !name.startsWith('_')));

/** `node:x`, `fs`, `fs/promises`: a Node built-in, with or without the scheme. */
function isBuiltin(path) {
  if (path.startsWith('node:')) return true;
  return builtins.has(path) || builtins.has(path.split('/')[0]);
}

/** Refuses every built-in import, naming the file that asked for it. */
const noNodeBuiltins = {
  name: 'no-node-builtins',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point' || !isBuiltin(args.path)) return undefined;
      return {
        errors: [
          { text: `Node built-in "${args.path}" imported by ${args.importer}: the browser bundle must not use it` },
        ],
      };
    });
  },
};

let result;
try {
  result = await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    sourcemap: true,
    metafile: true,
    legalComments: 'eof',
    // Nothing external: a page loads this one file.
    external: [],
    plugins: [noNodeBuiltins],
    logLevel: 'silent',
  });
} catch (err) {
  const errors = err && typeof err === 'object' && 'errors' in err ? err.errors : [{ text: String(err) }];
  for (const e of errors) {
    const where = e.location ? ` (${e.location.file}:${e.location.line})` : '';
    console.error(`bundle: ${e.text}${where}`);
  }
  process.exit(1);
}

// Second guard, on the output itself: no input from a Node-only place, no `node:` specifier left.
const inputs = Object.keys(result.metafile.inputs);
const nodeOnly = inputs.filter((input) => /(^|\/)(node:|.*\.node\.js$)/.test(input));
const code = readFileSync(outfile, 'utf8');
if (nodeOnly.length > 0 || /["'`]node:[a-z_/]+["'`]/.test(code)) {
  console.error(`bundle: Node-only code in the browser bundle: ${nodeOnly.join(', ') || 'a node: specifier'}`);
  process.exit(1);
}
for (const w of result.warnings) console.warn(`bundle: warning: ${w.text}`);

const bytes = statSync(outfile).size;
const gzip = gzipSync(code).length;
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log(
  `bundle: ${outfile.startsWith(root) ? outfile.slice(root.length) : outfile} ${kib(bytes)} (gzip ${kib(gzip)}), ${inputs.length} inputs`,
);

// A budget, so that a heavy dependency (zod was 440 KiB of a 530 KiB bundle) cannot creep back in.
const GZIP_BUDGET = 40 * 1024;
if (gzip > GZIP_BUDGET) {
  console.error(
    `bundle: ${kib(gzip)} gzipped is over the ${kib(GZIP_BUDGET)} budget; see what grew with esbuild's metafile`,
  );
  process.exit(1);
}
