/** Pure pieces: backoff, the token reader and its refresh schedule, options, the state table. */
import { describe, expect, it } from 'vitest';
import { issueToken } from '@tether/server';
import {
  Backoff,
  ClientState,
  ErrorCode,
  TetherClient,
  decodeToken,
  defaults,
  qualityOf,
  transitions,
} from '@tether/client';
import { TokenSource } from '../src/token.js';
import { StateMachine, StatusReason, type StatusChange } from '../src/state.js';

describe('Backoff', () => {
  it('full jitter: a uniform draw under a cap that doubles from 1 s to 30 s (docs/architecture.md §6)', () => {
    const draws = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.999];
    const backoff = new Backoff(defaults.reconnect, () => draws.shift()!);
    expect([1, 2, 3, 4, 5, 6, 7].map(() => backoff.next())).toEqual([500, 1000, 2000, 4000, 8000, 15000, 15000]);
    expect(backoff.next()).toBe(29970);
    expect(backoff.attempts).toBe(8);
    backoff.reset();
    expect(backoff.cap()).toBe(1000);
  });

  it('without jitter it is the cap; huge attempt counts do not overflow', () => {
    const backoff = new Backoff({ initialDelayMs: 100, maxDelayMs: 1000, factor: 2, jitter: 'none' });
    expect([1, 2, 3, 4, 5].map(() => backoff.next())).toEqual([100, 200, 400, 800, 1000]);
    for (let i = 0; i < 5000; i++) backoff.next();
    expect(backoff.next()).toBe(1000);
  });

  it('a limit lowers the cap of one draw only; the growth goes on counting under it', () => {
    const backoff = new Backoff({ initialDelayMs: 100, maxDelayMs: 10_000, factor: 2, jitter: 'none' });
    expect([1, 2, 3, 4, 5, 6].map(() => backoff.next(500))).toEqual([100, 200, 400, 500, 500, 500]);
    expect(backoff.next()).toBe(6400);
    expect(backoff.attempts).toBe(7);
  });
});

describe('tokens', () => {
  const secret = 'unit-test-secret';

  it('reads sub, tenant and exp without verifying', async () => {
    const token = await issueToken({ secret, sub: 'ana', tenant: 'store-7', ttlSeconds: 60 });
    const claims = decodeToken(token);
    expect(claims).toMatchObject({ sub: 'ana', tenant: 'store-7' });
    expect(claims.exp! - claims.iat!).toBe(60);
    expect(decodeToken(await issueToken({ secret, sub: 'bo' })).tenant).toBe('default');
    expect(() => decodeToken('not a jwt')).toThrow(expect.objectContaining({ code: ErrorCode.Unauthorized }));
  });

  it('refreshes a margin before exp, but never before 80 % of the life of a short token', async () => {
    let now = 1_000_000_000_000;
    const long = new TokenSource(
      await issueToken({ secret, sub: 'a', ttlSeconds: 3600, now: () => now }),
      undefined,
      60_000,
      () => now,
    );
    expect(long.msUntilRefresh()).toBe(3600_000 - 60_000);
    const short = new TokenSource(
      await issueToken({ secret, sub: 'a', ttlSeconds: 10, now: () => now }),
      undefined,
      60_000,
      () => now,
    );
    expect(short.msUntilRefresh()).toBe(8000);
    now += 10_000;
    expect(short.expired()).toBe(true);
  });

  it('getToken is called once for concurrent callers, and again after it threw', async () => {
    let calls = 0;
    const source = new TokenSource(
      undefined,
      async () => {
        calls++;
        if (calls === 1) throw new Error('down');
        return issueToken({ secret, sub: 'a' });
      },
      60_000,
    );
    await expect(source.get()).rejects.toThrow('down');
    const [a, b] = await Promise.all([source.get(), source.get()]);
    expect(a).toBe(b);
    expect(calls).toBe(2);
  });
});

describe('status machine', () => {
  it('emits each transition once, ignores a repeat, and refuses one the table does not allow', () => {
    const emitted: StatusChange[] = [];
    const machine = new StateMachine((c) => emitted.push(c));
    machine.set(ClientState.Connecting, StatusReason.ConnectCalled, 'go');
    machine.set(ClientState.Connecting, StatusReason.ConnectCalled, 'again');
    expect(emitted).toHaveLength(1);
    expect(() => machine.set(ClientState.Fallback, StatusReason.FallbackStarted, 'x')).not.toThrow();
    expect(() => machine.set(ClientState.Disconnected, StatusReason.Closed, 'x')).not.toThrow();
    expect(() => machine.set(ClientState.Connected, StatusReason.Connected, 'x')).toThrow(/invalid status transition/);
    for (const [from, tos] of Object.entries(transitions)) expect(tos).not.toContain(from);
  });

  it('connection quality follows docs/architecture.md §6', () => {
    expect([undefined, 10, 99, 100, 299, 300, 999, 1000].map(qualityOf)).toEqual([
      'unknown',
      'excellent',
      'excellent',
      'good',
      'good',
      'fair',
      'fair',
      'poor',
    ]);
  });
});

describe('options', () => {
  it('fail fast with a TypeError', () => {
    const token = 'a.b.c';
    expect(() => new TetherClient({ url: 'nope', token })).toThrow(TypeError);
    expect(() => new TetherClient({ url: 'http://x' })).toThrow(/token/);
    expect(
      () => new TetherClient({ url: 'http://x', getToken: () => token, reconnect: { initialDelayMs: -1 } }),
    ).toThrow(/initialDelayMs/);
    expect(
      () => new TetherClient({ url: 'http://x', getToken: () => token, fallback: { pollWaitSeconds: 61 } }),
    ).toThrow(/pollWaitSeconds/);
    expect(() => new TetherClient({ url: 'http://x', getToken: () => token, storage: 'localStorage' })).toThrow(
      /localStorage/,
    );
  });

  it('token and getToken together are a conflict: TypeError, nothing starts', async () => {
    const token = await issueToken({ secret: 'a-secret-of-thirty-two-characters!', sub: 'ana' });
    let asked = 0;
    const both = (): TetherClient =>
      new TetherClient({
        url: 'http://127.0.0.1:9',
        token,
        getToken: () => {
          asked += 1;
          return token;
        },
      });
    expect(both).toThrow(TypeError);
    expect(both).toThrow(/`token` or `getToken`, not both/);
    expect(asked).toBe(0);
    // Each alone is fine.
    new TetherClient({ url: 'http://127.0.0.1:9', token }).close().catch(() => undefined);
    new TetherClient({ url: 'http://127.0.0.1:9', getToken: () => token }).close().catch(() => undefined);
  });

  it('defaults match docs/architecture.md §6 and are exported', () => {
    expect(defaults).toMatchObject({
      ackIntervalMs: 2000,
      probeIntervalMs: 30_000,
      reconnect: { initialDelayMs: 1000, maxDelayMs: 30_000, factor: 2, jitter: 'full', maxAttempts: Infinity },
      fallback: { pollIntervalMs: 10_000, maxPollIntervalMs: 60_000 },
      publishQueue: { maxSize: 1000 },
      transports: ['websocket'],
    });
  });
});
