import { afterEach, describe, expect, it } from 'vitest';
import { TestBed, waitFor, type TestServer } from '@tether/testing';

let server: TestServer;
const bed = new TestBed();
afterEach(() => bed.close());

describe('graceful close', () => {
  it('finishes accepted publishes, then closes transports so clients reconnect', async () => {
    server = await bed.start();
    const c = await bed.connect('u1');
    const disconnected = waitFor<string>(c.socket, 'disconnect');
    const accepted = Array.from({ length: 50 }, (_, i) =>
      server.server.publish({ channel: 'user:u1', type: 't', data: i }),
    );
    await server.server.close();
    const results = await Promise.all(accepted);
    expect(results.map((r) => r.offset)).toEqual(Array.from({ length: 50 }, (_, k) => k + 1));
    // A transport close (not a server-side disconnect) is what makes socket.io clients reconnect.
    expect(await disconnected).toBe('transport close');
    await expect(server.server.publish({ channel: 'user:u1', type: 't', data: 'late' })).rejects.toMatchObject({
      code: 'shutting_down',
    });
    expect(await server.server.ready()).toBe(false);
  });
});
