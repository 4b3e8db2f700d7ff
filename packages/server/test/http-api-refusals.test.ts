/**
 * Every documented refusal of the HTTP API, through real `fetch` against a real server: each must
 * carry the code and status of errors.md and change nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '@tether/server';
import { type ErrorCode } from '@tether/protocol';
import {
  HttpApiFixture,
  MAX_PAYLOAD,
  bearer,
  expectError,
  fresh,
  okBody,
  type HttpAnswer,
  type PublishAnswer,
} from './http-api-helpers.js';

const api = new HttpApiFixture();
const { request, publish, poll, ack, logOf } = api;

beforeAll(() => api.start());
afterAll(() => api.close());

// ---- refusals ------------------------------------------------------------------------------------

describe('refusals: documented code and status, nothing changed', () => {
  /** Runs a refused request and checks that nothing was appended anywhere and the channel is as before. */
  async function refusedWithoutEffect(channel: string, send: () => Promise<HttpAnswer>, code: ErrorCode) {
    const before = await logOf(channel);
    const stats0 = api.srv.server.stats();
    const answer = await send();
    const message = expectError(answer, code);
    const stats1 = api.srv.server.stats();
    expect(stats1.published).toBe(stats0.published);
    expect(stats1.acked).toBe(stats0.acked);
    expect(await logOf(channel)).toEqual(before);
    return message;
  }

  it('publish without a valid API key → 401 unauthorized', async () => {
    const channel = fresh('room');
    const body = { channel, type: 't', data: 1 };
    await refusedWithoutEffect(channel, () => request('/v1/publish', { json: body }), 'unauthorized');
    await refusedWithoutEffect(
      channel,
      () => request('/v1/publish', { json: body, authorization: bearer('tk_not_a_key_at_all_0000') }),
      'unauthorized',
    );
    await refusedWithoutEffect(
      channel,
      () => request('/v1/publish', { json: body, authorization: `Basic ${api.srv.apiKey}` }),
      'unauthorized',
    );
    await refusedWithoutEffect(
      channel,
      () => request('/v1/publish', { json: body, authorization: 'Bearer' }),
      'unauthorized',
    );
    // A user token is not an API key.
    await refusedWithoutEffect(channel, () => publish(body, api.userToken), 'unauthorized');
  });

  it('poll and ack without a valid user token → 401 unauthorized; an expired one → 401 token_expired', async () => {
    const channel = fresh('room');
    const positions = { [channel]: { offset: 0 } };
    const otherSecret = await issueToken({ secret: 'another-secret-entirely-0123456789', sub: 'u1' });
    const expired = await api.srv.token({
      sub: 'u1',
      channels: ['room:*'],
      ttlSeconds: 60,
      now: () => Date.now() - 3_600_000,
    });
    for (const path of ['/v1/poll', '/v1/ack']) {
      const json = path === '/v1/poll' ? { positions } : { acks: { [channel]: 0 } };
      await refusedWithoutEffect(channel, () => request(path, { json }), 'unauthorized');
      await refusedWithoutEffect(
        channel,
        () => request(path, { json, authorization: bearer('garbage') }),
        'unauthorized',
      );
      await refusedWithoutEffect(
        channel,
        () => request(path, { json, authorization: bearer(api.srv.apiKey) }),
        'unauthorized',
      );
      await refusedWithoutEffect(
        channel,
        () => request(path, { json, authorization: bearer(otherSecret) }),
        'unauthorized',
      );
      await refusedWithoutEffect(
        channel,
        () => request(path, { json, authorization: bearer(expired) }),
        'token_expired',
      );
    }
  });

  it('malformed JSON, a missing body and a non-JSON content type → 400 bad_request', async () => {
    const channel = fresh('room');
    const calls: [string, string][] = [
      ['/v1/publish', bearer(api.srv.apiKey)],
      ['/v1/poll', bearer(api.userToken)],
      ['/v1/ack', bearer(api.userToken)],
    ];
    for (const [path, authorization] of calls) {
      for (const raw of [`{"channel":"${channel}",`, '{]', 'nul', '"just a string', '{"a":1}}']) {
        await refusedWithoutEffect(channel, () => request(path, { authorization, raw }), 'bad_request');
      }
      await refusedWithoutEffect(channel, () => request(path, { authorization, raw: '' }), 'bad_request');
      await refusedWithoutEffect(channel, () => request(path, { authorization }), 'bad_request');
      await refusedWithoutEffect(
        channel,
        () =>
          request(path, {
            authorization,
            raw: JSON.stringify({ channel, type: 't', data: 1 }),
            contentType: 'text/plain',
          }),
        'bad_request',
      );
    }
  });

  it('wrong types and unknown fields → 400 bad_request', async () => {
    const channel = fresh('room');
    const good = { channel, type: 't', data: 1 };
    const badPublishes: unknown[] = [
      [],
      'text',
      42,
      null,
      { ...good, channel: 5 },
      { ...good, type: '' },
      { ...good, type: 7 },
      { channel, data: 1 },
      { channel, type: 't' },
      { ...good, id: '' },
      { ...good, id: 12 },
      { ...good, ttl: 0 },
      { ...good, ttl: 1.5 },
      { ...good, ttl: '100' },
      { ...good, critical: 'yes' },
      { ...good, collapseKey: '' },
      { ...good, extra: true },
      { ...good, offset: 1 },
    ];
    for (const body of badPublishes) {
      await refusedWithoutEffect(channel, () => publish(body), 'bad_request');
    }
    const badPolls: unknown[] = [
      [],
      { positions: [] },
      { positions: { [channel]: 3 } },
      { positions: { [channel]: { offset: -1 } } },
      { positions: { [channel]: { offset: 1.5 } } },
      { positions: { [channel]: { offset: 0, extra: 1 } } },
      { positions: { [channel]: { epoch: '', offset: 0 } } },
      { wait: 'soon' },
      { wait: -1 },
      { wait: 61 },
      { positions: {}, since: 0 },
    ];
    for (const body of badPolls) {
      await refusedWithoutEffect(channel, () => poll(body), 'bad_request');
    }
    const badAcks: unknown[] = [
      {},
      { acks: [] },
      { acks: 'all' },
      { acks: { [channel]: -1 } },
      { acks: { [channel]: '2' } },
      { acks: { [channel]: 1.5 } },
      { acks: { [channel]: 1 }, deviceId: '' },
      { acks: { [channel]: 1 }, extra: 1 },
    ];
    for (const body of badAcks) {
      await refusedWithoutEffect(channel, () => ack(body), 'bad_request');
    }
  });

  it('invalid channel or tenant names → 400 invalid_channel', async () => {
    const channel = fresh('room');
    for (const name of ['room/x', '', 'has space', 'a'.repeat(201), 'ünicode', 'a\nb', '../etc']) {
      await refusedWithoutEffect(channel, () => publish({ channel: name, type: 't', data: 1 }), 'invalid_channel');
      await refusedWithoutEffect(channel, () => poll({ positions: { [name]: { offset: 0 } } }), 'invalid_channel');
      await refusedWithoutEffect(channel, () => ack({ acks: { [name]: 1 } }), 'invalid_channel');
    }
    // `__proto__` is no channel name (as a JSON key it would set a prototype); as a key the JSON
    // parser already refuses it.
    await refusedWithoutEffect(channel, () => publish({ channel: '__proto__', type: 't', data: 1 }), 'invalid_channel');
    for (const raw of ['{"positions":{"__proto__":{"offset":0}}}', '{"acks":{"__proto__":1}}']) {
      const path = raw.includes('positions') ? '/v1/poll' : '/v1/ack';
      await refusedWithoutEffect(
        channel,
        () => request(path, { authorization: bearer(api.userToken), raw }),
        'bad_request',
      );
    }
    for (const tenant of ['a/b', '', 'x:y', 't'.repeat(65)]) {
      await refusedWithoutEffect(channel, () => publish({ channel, type: 't', data: 1, tenant }), 'invalid_channel');
    }
  });

  it('data over maxPayloadBytes → 413 payload_too_large (and a body over the body limit too)', async () => {
    const channel = fresh('room');
    const just = 'x'.repeat(MAX_PAYLOAD - 2); // JSON adds the two quotes: exactly at the limit
    const ok = okBody<PublishAnswer>(await publish({ channel, type: 't', data: just }));
    expect(ok.offset).toBe(1);
    const over = 'x'.repeat(MAX_PAYLOAD - 1);
    await refusedWithoutEffect(channel, () => publish({ channel, type: 't', data: over }), 'payload_too_large');
    // Multi-byte characters count as bytes, not characters.
    const euros = '€'.repeat(Math.ceil(MAX_PAYLOAD / 3));
    await refusedWithoutEffect(channel, () => publish({ channel, type: 't', data: { euros } }), 'payload_too_large');
    const huge = 'y'.repeat(MAX_PAYLOAD * 40);
    await refusedWithoutEffect(channel, () => publish({ channel, type: 't', data: huge }), 'payload_too_large');
  });

  it('poll or ack of a channel the token does not allow → 403 forbidden, and nothing is acked', async () => {
    const channel = fresh('room');
    await api.srv.server.publishMany([1, 2].map((n) => ({ channel, type: 't', data: n })));
    const secret = fresh('secret');
    await api.srv.server.publish({ channel: secret, type: 't', data: 'hidden' });
    await refusedWithoutEffect(secret, () => poll({ positions: { [secret]: { offset: 0 } } }), 'forbidden');
    await refusedWithoutEffect(
      secret,
      () => poll({ positions: { [channel]: { offset: 0 }, [secret]: { offset: 0 } } }),
      'forbidden',
    );
    await refusedWithoutEffect(secret, () => poll({ positions: { 'user:someone-else': { offset: 0 } } }), 'forbidden');
    // One forbidden channel refuses the whole ack: the allowed one is not recorded either.
    await refusedWithoutEffect(
      channel,
      () => ack({ acks: { [channel]: 2, [secret]: 1 }, deviceId: 'd-f' }),
      'forbidden',
    );
    const acked0 = api.srv.server.stats().acked;
    okBody(await ack({ acks: { [channel]: 2 }, deviceId: 'd-f' }));
    expect(api.srv.server.stats().acked, 'the refused ack recorded nothing, so this one covers 2').toBe(acked0 + 2);
  });

  it('an unknown route or method → 404 not_found', async () => {
    for (const [method, path] of [
      ['GET', '/v1/nothing'],
      ['POST', '/v1/nothing'],
      ['GET', '/v1/publish'],
      ['GET', '/v1/poll'],
      ['DELETE', '/v1/ack'],
      ['POST', '/healthz'],
      ['GET', '/'],
    ] as const) {
      const answer = await request(path, { method, authorization: bearer(api.srv.apiKey) });
      const message = expectError(answer, 'not_found');
      expect(message).toContain(path);
    }
  });
});
