/**
 * The chat example's server: one HTTP server that carries Tether (`createTetherServer`, mounted on
 * it), the page Vite built into `dist/` (`build.js`) and a demo token endpoint. Public entry points
 * only. The HS256 secret is generated at start: tokens die with the process.
 *
 * The token endpoint signs a token for any name it is given: that is the demo's "login". A real app
 * issues tokens after its own login, on its own backend.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { createTetherServer, issueToken } from '@tether/server';
import { PAGE_DIR } from './build.js';

/** The rooms of the demo; a token may read and write `room:*`. */
export const ROOMS = ['room:general', 'room:random'];

/**
 * Edits and deletes are new events that supersede the message they change, scoped by its `data.id`
 * (the pattern of docs/presence.md):
 * a client that replays a room gets only the latest state of each message.
 */
export const chatRules = {
  'message:created': { supersededBy: ['message:edited', 'message:deleted'], scope: 'id' },
  'message:edited': { supersededBy: ['message:edited', 'message:deleted'], scope: 'id' },
};

const TYPES = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript',
  css: 'text/css',
  map: 'application/json',
  svg: 'image/svg+xml',
};
/**
 * `/` and the files Vite wrote: `dist/index.html` and `dist/assets/<name>`. The pattern keeps
 * requests inside `dist/` (no `/`, no `..`).
 */
function fileFor(pathname, pageDir) {
  if (pathname === '/' || pathname === '/index.html') return { file: join(pageDir, 'index.html'), type: TYPES.html };
  const match = /^\/assets\/([A-Za-z0-9_-][A-Za-z0-9_.-]*\.(js|css|map|svg))$/.exec(pathname);
  return match ? { file: join(pageDir, 'assets', match[1]), type: TYPES[match[2]] } : undefined;
}
const USER_NAME = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * Starts Tether and the page on one HTTP server. `pageDir` is where the built page is (default:
 * `dist/`, written by `buildChatPage()`; `run.js` builds it first).
 */
export async function startChatServer({ port = 0, host = '127.0.0.1', logLevel = 'warn', pageDir = PAGE_DIR } = {}) {
  const secret = randomBytes(32);
  const httpServer = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && url.pathname === '/api/token') return void sendToken(url, res);
    const entry = req.method === 'GET' ? fileFor(url.pathname, pageDir) : undefined;
    if (entry) return void sendFile(entry, res);
    // Tether's own paths (/socket.io/, /v1/*, /healthz…) never reach this listener: Tether takes
    // them before the app's. What is left is nobody's.
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  });
  const sendToken = async (url, res) => {
    const user = url.searchParams.get('user') ?? '';
    if (!USER_NAME.test(user)) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('user: 1-32 letters, digits, _ or -');
      return;
    }
    const token = await issueToken({ secret, sub: user, channels: ['room:*'], publish: ['room:*'], ttlSeconds: 600 });
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' }).end(token);
  };
  const tether = await createTetherServer({
    httpServer,
    jwtSecret: secret,
    relevance: chatRules,
    // Who is in each room, with their status; a user leaves 10 s after their last tab closed.
    presence: { channels: [{ pattern: 'room:*', mode: 'members' }] },
    logger: { level: logLevel },
  });
  await new Promise((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(port, host, resolve);
  });
  const address = httpServer.address();
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    tether,
    async close() {
      await tether.close();
      httpServer.closeAllConnections();
      await new Promise((resolve) => httpServer.close(() => resolve()));
    },
  };
}

function sendFile(entry, res) {
  readFile(entry.file).then(
    (body) => {
      // Vite names assets by content hash: they may be cached; the page itself may not.
      const cache = entry.type === TYPES.html ? 'no-store' : 'public, max-age=31536000, immutable';
      res.writeHead(200, { 'content-type': entry.type, 'cache-control': cache }).end(body);
    },
    () =>
      res
        .writeHead(404, { 'content-type': 'text/plain' })
        .end('not found (the page is built by `npm run example:chat`: build.js)'),
  );
}
