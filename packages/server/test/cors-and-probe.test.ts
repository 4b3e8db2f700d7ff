import { afterEach, describe, expect, it } from 'vitest';
import { TestBed } from '@tether/testing';
import type { ProbeReply, Reply } from '@tether/protocol';

const bed = new TestBed();
afterEach(() => bed.close());

describe('CORS for the HTTP fallback from browser pages', () => {
  it('answers the preflight for an allowed origin, and not for another', async () => {
    const { url } = await bed.start({ corsOrigins: ['http://app.example'] });
    const preflight = (origin: string): Promise<Response> =>
      fetch(`${url}/v1/poll`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type',
        },
      });
    const allowed = await preflight('http://app.example');
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://app.example');
    const other = await preflight('http://evil.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('sends no CORS headers when no origin is configured', async () => {
    const { url } = await bed.start();
    const response = await fetch(`${url}/healthz`, { headers: { origin: 'http://app.example' } });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('probe (the SDK RTT probe)', () => {
  it('echoes the client ts with the server clock; a malformed probe is bad_request', async () => {
    await bed.start();
    const client = await bed.connect('u1');
    const ask = (payload: unknown): Promise<Reply<ProbeReply>> =>
      new Promise((resolve) => client.socket.emit('probe', payload as { ts: number }, resolve));
    const before = Date.now();
    const reply = await ask({ ts: 12345 });
    expect(reply).toMatchObject({ ts: 12345 });
    expect((reply as ProbeReply).serverTs).toBeGreaterThanOrEqual(before);
    expect(await ask({ ts: 'soon' })).toMatchObject({ error: { code: 'bad_request' } });
  });
});
