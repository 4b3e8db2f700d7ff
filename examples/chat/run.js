#!/usr/bin/env node
/**
 * Starts the chat example: `npm run example:chat` (after `npm run build`) builds the page with Vite,
 * starts the server and prints the URL; open it in two browser windows with two names.
 * `--port N` picks the port (default 8080; 0: any).
 */
import { buildChatPage } from './build.js';
import { startChatServer } from './server.js';

const at = process.argv.indexOf('--port');
const port = Number(at > 0 ? process.argv[at + 1] : (process.env.PORT ?? 8080));
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error('usage: run.js [--port N]');
  process.exit(2);
}

const fail =
  (what, hint = '') =>
  (err) => {
    console.error(`chat example: ${what}${hint}: ${err.message}`);
    process.exit(1);
  };
console.log('chat example: building the page (vite)…');
await buildChatPage().catch(
  fail('the page did not build', ' (did `npm run build` run? the page imports the built packages)'),
);
const chat = await startChatServer({ port }).catch((err) =>
  fail(
    'the server did not start',
    err.code === 'EADDRINUSE' ? ' (pick another: npm run example:chat -- --port 0)' : '',
  )(err),
);
console.log(`chat example: ${chat.url}/  (open it twice, e.g. ${chat.url}/?user=alice and ${chat.url}/?user=bob)`);
console.log('Ctrl-C stops it');

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await chat.close();
  console.log('chat example stopped');
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
