/**
 * Builds the page with Vite (`vite.config.js`) into `dist/`: `run.js` calls it before it starts the
 * server, so `npm run example:chat` always serves a page built from the sources in `src/`.
 */
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

export const PAGE_DIR = fileURLToPath(new URL('./dist/', import.meta.url));

export async function buildChatPage({ logLevel = 'warn' } = {}) {
  await build({ configFile: fileURLToPath(new URL('./vite.config.js', import.meta.url)), logLevel });
  return PAGE_DIR;
}
