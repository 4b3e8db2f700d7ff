/**
 * The dashboard page (`dashboard.path`, default `/dashboard`): static files only — the page, its
 * script and style, and uPlot (the chart library, from the package's own dependencies: no CDN).
 * The page asks for the admin key and reads `GET /v1/stats` with it every few seconds; the page
 * itself holds no secret, so it is served without one. Its Content-Security-Policy lets it talk
 * to its own origin only.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

const require = createRequire(import.meta.url);
/** src/http or dist/http → packages/server/dashboard. */
const PAGE_DIR = fileURLToPath(new URL('../../dashboard/', import.meta.url));

const FILES: Record<string, { path: () => string; type: string }> = {
  '': { path: () => `${PAGE_DIR}index.html`, type: 'text/html; charset=utf-8' },
  'dashboard.js': { path: () => `${PAGE_DIR}dashboard.js`, type: 'text/javascript; charset=utf-8' },
  'dashboard.css': { path: () => `${PAGE_DIR}dashboard.css`, type: 'text/css; charset=utf-8' },
  'uplot.js': { path: () => require.resolve('uplot/dist/uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  'uplot.css': { path: () => require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

const POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** `/dashboard` (no trailing slash) → `/dashboard/`, so the page's relative links resolve under it. */
export function registerDashboard(app: FastifyInstance, path: string): void {
  const base = path.replace(/\/+$/, '');
  const cache = new Map<string, Promise<Buffer>>();
  app.get(base, async (_request, reply) => reply.redirect(`${base}/`, 302));
  for (const [name, file] of Object.entries(FILES)) {
    app.get(`${base}/${name}`, async (_request, reply) => {
      let body = cache.get(name);
      if (!body) {
        body = readFile(file.path());
        cache.set(name, body);
        body.catch(() => cache.delete(name));
      }
      return reply
        .header('content-type', file.type)
        .header('content-security-policy', POLICY)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .header('cache-control', 'no-cache')
        .send(await body);
    });
  }
}
