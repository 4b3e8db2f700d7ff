/**
 * The fake push service is only worth something if it refuses what a real one refuses and decrypts
 * as a browser does: RFC 8291's own example decrypts to its plaintext, and a push without VAPID,
 * TTL or with a bad Topic is refused with the status RFC 8030 / 8292 give.
 */
import { createECDH } from 'node:crypto';
import { request } from 'node:https';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decryptWebPush, startWebPushReceiver, type WebPushReceiver } from '@tether/testing';

describe('decryptWebPush', () => {
  // RFC 8291 §5 and Appendix A: the receiver's keys, the auth secret and the message body.
  const receiverPrivate = 'q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94';
  const authSecret = 'BTBZMqHH6r4Tts7J_aSIgg';
  const body =
    'DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN';
  const key = createECDH('prime256v1');
  key.setPrivateKey(Buffer.from(receiverPrivate, 'base64url'));

  it('decrypts the RFC 8291 example to its plaintext', () => {
    const plaintext = decryptWebPush(Buffer.from(body, 'base64url'), key, Buffer.from(authSecret, 'base64url'));
    expect(plaintext.toString('utf8')).toBe('When I grow up, I want to be a watermelon');
  });

  it('refuses a tampered body or the wrong auth secret', () => {
    const tampered = Buffer.from(body, 'base64url');
    tampered[tampered.length - 1]! ^= 1;
    expect(() => decryptWebPush(tampered, key, Buffer.from(authSecret, 'base64url'))).toThrow(/auth/i);
    expect(() => decryptWebPush(Buffer.from(body, 'base64url'), key, Buffer.alloc(16))).toThrow();
  });
});

describe('web push receiver', () => {
  let receiver: WebPushReceiver;
  beforeEach(async () => {
    receiver = await startWebPushReceiver();
  });
  afterEach(async () => {
    await receiver.close();
  });

  function post(endpoint: string, headers: Record<string, string>): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = request(endpoint, { method: 'POST', headers, agent: receiver.agent }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end(Buffer.alloc(120));
    });
  }

  it('refuses a push without TTL (400), without VAPID (401), with a bad Topic (400); an unknown endpoint is 404', async () => {
    const { endpoint } = receiver.subscribe();
    expect(await post(endpoint, { 'content-encoding': 'aes128gcm' })).toBe(400);
    expect(await post(endpoint, { ttl: '60', 'content-encoding': 'aes128gcm' })).toBe(401);
    expect(await post(endpoint, { ttl: '60', topic: 'not a topic!' })).toBe(400);
    expect(await post(`${receiver.origin}/push/unknown`, { ttl: '60' })).toBe(404);
    expect(receiver.refused.map((r) => r.status)).toEqual([400, 401, 400, 404]);
    expect(receiver.refused[1]!.reason).toContain('VAPID');
    expect(receiver.received).toHaveLength(0);
  });
});
