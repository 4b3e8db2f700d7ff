/**
 * `client.registerPush` / `unregisterPush` against a real server: targets are stored for the
 * token's user and used by the push fallback; bad input is refused with its code; a target its
 * provider reports gone is removed. The provider is an app-defined one (the `PushProvider`
 * extension point) that records what it is asked to send.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, waitUntil, type TestServer } from '@tether/testing';
import { TetherError } from '@tether/protocol';
import type { PushDevice, PushNotice, PushOutcome, PushProvider } from '@tether/server';
import { Clients, fast } from './helpers.js';

const clients = new Clients();
let server: TestServer | undefined;

afterEach(async () => {
  await clients.closeAll();
  await server?.close();
  server = undefined;
});

class RecordingProvider implements PushProvider {
  readonly name = 'phone';
  readonly perDevice = true;
  readonly sent: { notice: PushNotice; device: PushDevice | undefined }[] = [];
  /** Tokens the "platform" no longer knows. */
  readonly dead = new Set<string>();

  async send(notice: PushNotice, device: PushDevice | undefined): Promise<PushOutcome> {
    this.sent.push({ notice, device });
    return device && this.dead.has(device.token) ? { result: 'gone', error: 'unregistered' } : { result: 'sent' };
  }

  checkToken(token: string): string | undefined {
    return token.startsWith('tok-') ? undefined : 'tokens start with tok-';
  }
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (err) {
    return err instanceof TetherError ? err.code : `not a TetherError: ${String(err)}`;
  }
}

describe('push targets from the SDK', () => {
  it('registers this device’s target, replaces it on a new token, pushes to it, and drops it when gone', async () => {
    const provider = new RecordingProvider();
    server = await startServer({ push: { providers: [provider] } });
    const client = clients.make({ ...fast, url: server.url, token: await server.token('driver-1') });

    const first = await client.registerPush({ provider: 'phone', token: 'tok-1' });
    expect(first).toEqual({ provider: 'phone', deviceId: client.deviceId, evicted: 0 });
    await client.registerPush({ provider: 'phone', token: 'tok-2' }); // the token rotated

    // Not connected: a critical event goes straight to the push fallback, to the current token only.
    await server.server.publish({ channel: 'user:driver-1', type: 'trip:requested', data: {}, critical: true });
    await waitUntil(() => (provider.sent.length === 1 ? true : undefined), 3000, 'pushed');
    expect(provider.sent[0]!.device).toMatchObject({ token: 'tok-2', deviceId: client.deviceId, sub: 'driver-1' });
    expect(provider.sent[0]!.notice).toMatchObject({ channel: 'user:driver-1', offset: 1, reason: 'offline' });

    provider.dead.add('tok-2');
    await server.server.publish({ channel: 'user:driver-1', type: 'trip:requested', data: {}, critical: true });
    await waitUntil(() => (server!.server.stats().push.gone['phone'] === 1 ? true : undefined), 3000, 'gone');
    await server.server.publish({ channel: 'user:driver-1', type: 'trip:requested', data: {}, critical: true });
    await waitUntil(() => (server!.server.stats().push.noTarget === 1 ? true : undefined), 3000, 'no target left');
    expect(provider.sent).toHaveLength(2);
  });

  it('refuses unknown providers and bad tokens with their codes; unregisters this device by default', async () => {
    server = await startServer({ push: { providers: [new RecordingProvider()] } });
    const client = clients.make({ ...fast, url: server.url, token: await server.token('u') });
    expect(await codeOf(client.registerPush({ provider: 'fcm', token: 'tok-1' }))).toBe('push_provider_unknown');
    expect(await codeOf(client.registerPush({ provider: 'phone', token: 'nope' }))).toBe('push_token_invalid');
    expect(await codeOf(client.registerPush({ provider: 'Bad Name', token: 'tok-1' }))).toBe('bad_request');
    expect(await client.unregisterPush()).toBe(0);
    await client.registerPush({ provider: 'phone', token: 'tok-1' });
    await client.registerPush({ provider: 'phone', token: 'tok-9', deviceId: 'other-device' });
    expect(await client.unregisterPush({ provider: 'phone', token: 'tok-9' })).toBe(1);
    expect(await client.unregisterPush()).toBe(1);
    expect(await client.unregisterPush()).toBe(0);
  });

  it('bounds the targets per user: the least recently registered go', async () => {
    server = await startServer({ push: { providers: [new RecordingProvider()], maxDevicesPerUser: 2 } });
    const client = clients.make({ ...fast, url: server.url, token: await server.token('u') });
    for (const [i, deviceId] of ['a', 'b'].entries()) {
      expect(await client.registerPush({ provider: 'phone', token: `tok-${i}`, deviceId })).toMatchObject({
        evicted: 0,
      });
    }
    expect(await client.registerPush({ provider: 'phone', token: 'tok-c', deviceId: 'c' })).toMatchObject({
      evicted: 1,
    });
    expect(await client.unregisterPush({ deviceId: 'a' })).toBe(0);
    expect(await client.unregisterPush({ deviceId: 'b' })).toBe(1);
  });
});
