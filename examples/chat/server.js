/**
 * The chat example's server: one HTTP server that carries Tether (`createTetherServer`, mounted on
 * it), the page's static files, the SDK's browser bundle and a demo token endpoint. Public entry
 * points only. The HS256 secret is generated at start: tokens die with the process.
 *
 * The token endpoint signs a token for any name it is given: that is the demo's "login". A real app
 * issues tokens after its own login, on its own backend.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { createTetherServer, issueToken } from '@tether/server';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const BUNDLE = fileURLToPath(import.meta.resolve('@tether/client/bundle'));

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

const BUNDLE_FILES = {
  '/tether-client.browser.js': { file: BUNDLE, type: 'text/javascript' },
  '/tether-client.browser.js.map': { file: `${BUNDLE}.map`, type: 'application/json' },
};
const TYPES = { html: 'text/html; charset=utf-8', js: 'text/javascript', css: 'text/css' };
/** `/` and the page's own files (`public/<name>.js|css`; the pattern keeps requests inside `public/`). */
function fileFor(pathname) {
  if (BUNDLE_FILES[pathname]) return BUNDLE_FILES[pathname];
  const name = pathname === '/' ? 'index.html' : pathname.slice(1);
  const match = /^[a-z-]+\.(html|js|css)$/.exec(name);
  return match ? { file: here(`public/${name}`), type: TYPES[match[1]] } : undefined;
}
const USER_NAME = /^[A-Za-z0-9_-]{1,32}$/;

export async function startChatServer({ port = 0, host = '127.0.0.1', logLevel = 'warn' } = {}) {
  const secret = randomBytes(32);
  const httpServer = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && url.pathname === '/api/token') return void sendToken(url, res);
    const entry = req.method === 'GET' ? fileFor(url.pathname) : undefined;
    if (entry) return void sendFile(entry, res);
    // Anything else (/socket.io/, /v1/*, /healthz) is Tether's.
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
    (body) => res.writeHead(200, { 'content-type': entry.type, 'cache-control': 'no-store' }).end(body),
    () => res.writeHead(404, { 'content-type': 'text/plain' }).end('not found (the SDK bundle needs `npm run build`)'),
  );
}
