/**
 * Follows the HTTP/1.x requests a client sends on one connection (client → server bytes only), so
 * that the fault proxy can block by request path: `/socket.io/…` refused while `/v1/poll` passes.
 *
 * It reads request heads and skips `Content-Length` bodies, so keep-alive connections are followed
 * request by request. It stops following (becomes opaque) on anything it cannot frame cheaply: a
 * non-HTTP first byte, an `Upgrade` (what follows is WebSocket frames), a chunked body, a head over
 * the size limit. Opaque is permanent for the connection: the proxy then only knows its last path.
 */

/** Heads longer than this are not HTTP we care about (Node's own limit is 16 KiB). */
const MAX_HEAD_BYTES = 16 * 1024;
const METHOD = /^[A-Z]{1,16}$/;

type State = { kind: 'head'; head: string } | { kind: 'body'; remaining: number } | { kind: 'opaque' };

export class HttpRequestTracker {
  private state: State = { kind: 'head', head: '' };
  /** The path of the last complete request head; undefined before the first one. */
  lastPath: string | undefined;

  /** True while part of a request head has arrived but not its end: bytes worth holding back. */
  get midHead(): boolean {
    return this.state.kind === 'head' && this.state.head.length > 0;
  }

  get opaque(): boolean {
    return this.state.kind === 'opaque';
  }

  /** Feeds client bytes; returns the paths of the request heads completed by this chunk. */
  push(chunk: Buffer): string[] {
    const paths: string[] = [];
    let at = 0;
    while (at < chunk.length) {
      const state = this.state;
      if (state.kind === 'opaque') break;
      if (state.kind === 'body') {
        const take = Math.min(state.remaining, chunk.length - at);
        at += take;
        this.state =
          state.remaining === take ? { kind: 'head', head: '' } : { kind: 'body', remaining: state.remaining - take };
        continue;
      }
      // latin1 keeps one char per byte, so string offsets are byte offsets.
      const before = state.head.length;
      const head = state.head + chunk.toString('latin1', at, Math.min(chunk.length, at + MAX_HEAD_BYTES));
      if (!looksLikeHttp(head)) {
        this.state = { kind: 'opaque' };
        break;
      }
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length >= MAX_HEAD_BYTES) this.state = { kind: 'opaque' };
        else this.state = { kind: 'head', head };
        at += head.length - before;
        continue;
      }
      at += end + 4 - before;
      this.state = this.afterHead(head.slice(0, end), paths);
    }
    return paths;
  }

  private afterHead(head: string, paths: string[]): State {
    const [requestLine = '', ...lines] = head.split('\r\n');
    const path = requestLine.split(' ')[1] ?? '';
    this.lastPath = path;
    paths.push(path);
    const headers = new Map<string, string>();
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon > 0)
        headers.set(
          line.slice(0, colon).trim().toLowerCase(),
          line
            .slice(colon + 1)
            .trim()
            .toLowerCase(),
        );
    }
    if (headers.has('upgrade')) return { kind: 'opaque' };
    if (headers.get('transfer-encoding')?.includes('chunked')) return { kind: 'opaque' };
    const length = Number(headers.get('content-length') ?? '0');
    if (!Number.isSafeInteger(length) || length < 0) return { kind: 'opaque' };
    return length > 0 ? { kind: 'body', remaining: length } : { kind: 'head', head: '' };
  }
}

/** The start of a request line: an upper-case method token, then a space (or not yet known). */
function looksLikeHttp(head: string): boolean {
  const space = head.indexOf(' ');
  const method = space < 0 ? head.slice(0, 17) : head.slice(0, space);
  if (method.length === 0) return true;
  return METHOD.test(method) && (space >= 0 || method.length <= 16);
}
