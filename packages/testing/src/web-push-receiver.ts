/**
 * A fake Web Push service (RFC 8030) on https://127.0.0.1 with a self-signed certificate (web-push
 * speaks HTTPS only; `agent` trusts it). It hands out subscriptions as a browser's PushManager
 * would (a P-256 key and an auth secret per subscription), and for each push checks what a push
 * service checks: the VAPID `Authorization: vapid t=JWT, k=KEY` (ES256 by `k`, `aud` its origin,
 * `exp` within 24 h, `sub` a contact, `k` the subscription's application server key when it has
 * one), `TTL`, `Urgency`, `Topic`, `Content-Encoding: aes128gcm`, ≤ 4096 bytes. It decrypts the
 * payload with the subscription's keys (web-push-decrypt.ts). Scriptable: a withdrawn subscription
 * answers 410, an unknown one 404, `failNext` any status with `Retry-After`.
 */
import { createECDH, randomBytes, type ECDH } from 'node:crypto';
import { Agent, createServer, type Server } from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { importJWK, jwtVerify } from 'jose';
import { generate } from 'selfsigned';
import { listenLoopback } from './listen.js';
import { closeServer, FailureScript, readBody, type ScriptedFailure } from './http-fake.js';
import { decryptWebPush } from './web-push-decrypt.js';

/** A browser's `PushSubscription.toJSON()`. */
export interface WebPushSubscriptionJson {
  endpoint: string;
  expirationTime: null;
  keys: { p256dh: string; auth: string };
}

/** A push the service accepted, decrypted. */
export interface ReceivedPush {
  endpoint: string;
  ttl: number;
  urgency: string | undefined;
  topic: string | undefined;
  /** The VAPID JWT's claims and the key it was signed with. */
  vapid: { sub: string; aud: string; exp: number; publicKey: string };
  /** The decrypted payload, as text. */
  payload: string;
}

/** A push the service refused, and why. */
export interface RefusedPush {
  endpoint: string;
  status: number;
  reason: string;
}

export interface WebPushReceiver {
  /** `https://127.0.0.1:PORT`: the VAPID `aud` it expects. */
  readonly origin: string;
  /** Its certificate (PEM). */
  readonly ca: string;
  /** An HTTPS agent that trusts it (the provider's `agent`). */
  readonly agent: Agent;
  /** A new subscription; with `applicationServerKey`, pushes must be signed by that VAPID key. */
  subscribe(options?: { applicationServerKey?: string }): WebPushSubscriptionJson;
  /** From now on pushes to it are answered 410 Gone (the user withdrew permission). */
  unsubscribe(subscription: WebPushSubscriptionJson): void;
  /** The next push(es) to it get this status (and `Retry-After`) instead. */
  failNext(subscription: WebPushSubscriptionJson, failure: ScriptedFailure): void;
  readonly received: readonly ReceivedPush[];
  readonly refused: readonly RefusedPush[];
  /** Every request's headers, in order (accepted or not). */
  readonly requestHeaders: readonly IncomingHttpHeaders[];
  close(): Promise<void>;
}

interface Subscription {
  key: ECDH;
  authSecret: Buffer;
  applicationServerKey: string | undefined;
  withdrawn: boolean;
}

class Refusal extends Error {
  constructor(
    readonly status: number,
    reason: string,
    readonly retryAfter?: string,
  ) {
    super(reason);
  }
}

const URGENCIES = ['very-low', 'low', 'normal', 'high'];
const MAX_BODY_BYTES = 4096;
const MAX_VAPID_LIFETIME_S = 24 * 3600;

export async function startWebPushReceiver(options: { now?: () => number } = {}): Promise<WebPushReceiver> {
  const now = options.now ?? Date.now;
  const subscriptions = new Map<string, Subscription>();
  const script = new FailureScript();
  const received: ReceivedPush[] = [];
  const refused: RefusedPush[] = [];
  const requestHeaders: IncomingHttpHeaders[] = [];
  const pem = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
  });
  let origin = '';

  async function verifyVapid(headers: IncomingHttpHeaders, subscription: Subscription): Promise<ReceivedPush['vapid']> {
    const match = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(headers.authorization ?? '');
    if (!match) throw new Refusal(401, 'no VAPID Authorization (vapid t=…, k=…)');
    const [, token = '', publicKey = ''] = match;
    const point = Buffer.from(publicKey, 'base64url');
    if (point.length !== 65 || point[0] !== 4) throw new Refusal(401, 'k is not an uncompressed P-256 key');
    if (subscription.applicationServerKey !== undefined && subscription.applicationServerKey !== publicKey) {
      throw new Refusal(403, "k is not the subscription's application server key");
    }
    const key = await importJWK(
      {
        kty: 'EC',
        crv: 'P-256',
        x: point.subarray(1, 33).toString('base64url'),
        y: point.subarray(33).toString('base64url'),
      },
      'ES256',
    );
    let claims: Record<string, unknown>;
    try {
      ({ payload: claims } = await jwtVerify(token, key, {
        algorithms: ['ES256'],
        audience: origin,
        currentDate: new Date(now()),
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (err) {
      throw new Refusal(401, `VAPID JWT: ${(err as Error).message}`);
    }
    const exp = claims.exp as number;
    if (exp > now() / 1000 + MAX_VAPID_LIFETIME_S) throw new Refusal(401, 'VAPID JWT: exp more than 24 h ahead');
    const sub = claims.sub;
    if (typeof sub !== 'string' || !/^(mailto:|https:)/.test(sub))
      throw new Refusal(401, 'VAPID JWT: sub is not a mailto: or https: contact');
    return { sub, aud: origin, exp, publicKey };
  }

  async function accept(request: IncomingMessage, id: string): Promise<ReceivedPush> {
    const endpoint = `${origin}/push/${id}`;
    const subscription = subscriptions.get(id);
    const body = await readBody(request, 1 << 16);
    if (!subscription) throw new Refusal(404, 'no such subscription');
    if (subscription.withdrawn) throw new Refusal(410, 'subscription withdrawn');
    const headers = request.headers;
    const ttlText = headers.ttl;
    if (typeof ttlText !== 'string' || !/^\d+$/.test(ttlText))
      throw new Refusal(400, 'TTL header missing or not a number');
    const urgency = headers.urgency as string | undefined;
    if (urgency !== undefined && !URGENCIES.includes(urgency)) throw new Refusal(400, `bad Urgency ${urgency}`);
    const topic = headers.topic as string | undefined;
    if (topic !== undefined && !/^[A-Za-z0-9_-]{1,32}$/.test(topic)) throw new Refusal(400, `bad Topic ${topic}`);
    const vapid = await verifyVapid(headers, subscription);
    if (body.length > MAX_BODY_BYTES) throw new Refusal(413, `body of ${body.length} bytes`);
    if (headers['content-encoding'] !== 'aes128gcm')
      throw new Refusal(415, `Content-Encoding ${headers['content-encoding'] ?? 'missing'}`);
    let payload: string;
    try {
      payload = decryptWebPush(body, subscription.key, subscription.authSecret).toString('utf8');
    } catch (err) {
      throw new Refusal(400, `does not decrypt: ${(err as Error).message}`);
    }
    const failure = script.take(endpoint);
    if (failure) throw new Refusal(failure.status, 'scripted', failure.retryAfter);
    return { endpoint, ttl: Number(ttlText), urgency, topic, vapid, payload };
  }

  function handle(request: IncomingMessage, response: ServerResponse): void {
    requestHeaders.push(request.headers);
    const id = /^\/push\/([A-Za-z0-9_-]+)$/.exec(request.url ?? '')?.[1];
    if (request.method !== 'POST' || id === undefined) {
      response.writeHead(404).end();
      return;
    }
    accept(request, id).then(
      (push) => {
        received.push(push);
        response.writeHead(201, { location: `${origin}/message/${randomBytes(8).toString('hex')}` }).end();
      },
      (err: unknown) => {
        const status = err instanceof Refusal ? err.status : 500;
        refused.push({ endpoint: `${origin}/push/${id}`, status, reason: (err as Error).message });
        const headers: Record<string, string> = { 'content-type': 'text/plain' };
        if (err instanceof Refusal && err.retryAfter !== undefined) headers['retry-after'] = err.retryAfter;
        response.writeHead(status, headers).end((err as Error).message);
      },
    );
  }

  const server: Server = createServer({ key: pem.private, cert: pem.cert }, handle);
  const port = await listenLoopback(server, 'web push receiver');
  origin = `https://127.0.0.1:${port}`;
  const agent = new Agent({ ca: pem.cert });
  const idOf = (subscription: WebPushSubscriptionJson): string => subscription.endpoint.slice(`${origin}/push/`.length);

  return {
    origin,
    ca: pem.cert,
    agent,
    subscribe(subscribeOptions = {}) {
      const key = createECDH('prime256v1');
      key.generateKeys();
      const authSecret = randomBytes(16);
      const id = randomBytes(12).toString('base64url');
      subscriptions.set(id, {
        key,
        authSecret,
        applicationServerKey: subscribeOptions.applicationServerKey,
        withdrawn: false,
      });
      return {
        endpoint: `${origin}/push/${id}`,
        expirationTime: null,
        keys: { p256dh: key.getPublicKey().toString('base64url'), auth: authSecret.toString('base64url') },
      };
    },
    unsubscribe(subscription) {
      const found = subscriptions.get(idOf(subscription));
      if (found) found.withdrawn = true;
    },
    failNext(subscription, failure) {
      script.add(subscription.endpoint, failure);
    },
    received,
    refused,
    requestHeaders,
    async close() {
      agent.destroy();
      await closeServer(server);
    },
  };
}
