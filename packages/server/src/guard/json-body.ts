import type { FastifyInstance } from 'fastify';
import { ErrorCode, TetherError } from '@tether/protocol';
import { jsonDeeperThan } from './json-depth.js';

/**
 * Fastify's own JSON body parser (with its `__proto__` / `constructor` poisoning checks, as by
 * default), behind a depth scan: a body nested deeper than `maxDepth` is `bad_request` before it
 * is parsed, since V8 parses deep JSON at about 1 µs a level (see json-depth.ts).
 */
export function boundJsonBodyDepth(app: FastifyInstance, maxDepth: number): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (jsonDeeperThan(text, maxDepth)) {
      done(new TetherError(ErrorCode.BadRequest, `body nested deeper than ${maxDepth} levels`), undefined);
      return;
    }
    void parse(request, text, done);
  });
}
