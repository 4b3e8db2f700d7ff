/**
 * A fake Firebase Cloud Messaging on 127.0.0.1 that speaks FCM HTTP v1 and Google's OAuth2 token
 * endpoint: `POST /token` (the JWT-bearer grant, fake-fcm-auth.ts) and `POST
 * /v1/projects/{project}/messages:send` (a bearer token it issued, with the scope, for the account's
 * project; the body FCM accepts, fake-fcm-message.ts). Its answers are FCM's, error JSON included:
 * a token can be unregistered (404 UNREGISTERED) or scripted to fail (503 / 429 / 500 with
 * `Retry-After`, 400 INVALID_ARGUMENT). Every request is recorded.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { listenLoopback } from './listen.js';
import { answerJson, closeServer, FailureScript, readBody, type ScriptedFailure } from './http-fake.js';
import { fcmBodyProblem } from './fake-fcm-message.js';
import {
  FakeTokenEndpoint,
  FCM_SCOPE,
  makeServiceAccount,
  type ServiceAccountJson,
  type ServiceAccountWithKey,
  type TokenRequestRecord,
} from './fake-fcm-auth.js';

export interface StartFakeFcmOptions {
  /** The project of `serviceAccount()`. Default `tether-test`. */
  projectId?: string;
  /** `expires_in` of the access tokens it issues, seconds. Default 3599 (Google's). */
  tokenLifetimeSeconds?: number;
  /** Its clock, ms since the epoch (assertion times, token expiry). Default `Date.now`. */
  now?: () => number;
}

/** One `messages:send` request. */
export interface FcmSendRecord {
  path: string;
  headers: IncomingHttpHeaders;
  /** The parsed body (or the raw text when it was not JSON). */
  body: unknown;
  /** The answer's status. */
  status: number;
}

export interface FakeFcm {
  /** The FCM endpoint (the provider's `endpoint`). */
  readonly url: string;
  /** The token endpoint (the service account's `token_uri`). */
  readonly tokenUri: string;
  readonly projectId: string;
  /** A fresh service account whose `token_uri` is this fake, which its token endpoint trusts. */
  serviceAccount(): ServiceAccountJson;
  /** Trusts an account made elsewhere (`makeServiceAccount`). */
  trust(account: ServiceAccountWithKey): void;
  readonly tokenRequests: readonly TokenRequestRecord[];
  readonly sendRequests: readonly FcmSendRecord[];
  /** The `message` of every accepted send, in order. */
  readonly delivered: readonly Record<string, unknown>[];
  /** From now on `token` is answered 404 UNREGISTERED (the app was uninstalled). */
  unregister(token: string): void;
  /** The next send(s) to `token` get this answer instead (FCM's error JSON for the status). */
  failNext(token: string, failure: ScriptedFailure): void;
  /** Every access token issued so far is answered 401 (revoked, or expired early). */
  revokeAccessTokens(): void;
  close(): Promise<void>;
}

/** FCM's `errorCode` and gRPC status for the statuses a script can ask for. */
const FCM_ERRORS: Record<number, { status: string; errorCode: string; message: string }> = {
  400: { status: 'INVALID_ARGUMENT', errorCode: 'INVALID_ARGUMENT', message: 'Request contains an invalid argument.' },
  404: { status: 'NOT_FOUND', errorCode: 'UNREGISTERED', message: 'Requested entity was not found.' },
  429: { status: 'RESOURCE_EXHAUSTED', errorCode: 'QUOTA_EXCEEDED', message: 'Quota exceeded for quota metric.' },
  500: { status: 'INTERNAL', errorCode: 'INTERNAL', message: 'Internal error encountered.' },
  503: { status: 'UNAVAILABLE', errorCode: 'UNAVAILABLE', message: 'The service is currently unavailable.' },
};

function fcmError(code: number, status: string, message: string, errorCode?: string): unknown {
  const details = errorCode ? [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }] : [];
  return { error: { code, message, status, details } };
}

export async function startFakeFcm(options: StartFakeFcmOptions = {}): Promise<FakeFcm> {
  const projectId = options.projectId ?? 'tether-test';
  const now = options.now ?? Date.now;
  const sendRequests: FcmSendRecord[] = [];
  const delivered: Record<string, unknown>[] = [];
  const unregistered = new Set<string>();
  const script = new FailureScript();
  let tokenUri = '';
  const tokens = new FakeTokenEndpoint(() => tokenUri, options.tokenLifetimeSeconds ?? 3599, now);

  async function handleSend(request: IncomingMessage, response: ServerResponse, project: string): Promise<void> {
    const raw = (await readBody(request)).toString('utf8');
    const record: FcmSendRecord = { path: request.url ?? '', headers: request.headers, body: raw, status: 0 };
    sendRequests.push(record);
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      record.status = status;
      answerJson(response, status, body, headers);
    };
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    const issued = bearer === undefined ? undefined : tokens.issued.get(bearer);
    if (!issued || issued.revoked || issued.expiresAt <= now()) {
      answer(
        401,
        fcmError(
          401,
          'UNAUTHENTICATED',
          'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
        ),
        { 'www-authenticate': 'Bearer realm="https://accounts.google.com/"' },
      );
      return;
    }
    if (!issued.scopes.includes(FCM_SCOPE)) {
      answer(403, fcmError(403, 'PERMISSION_DENIED', 'Request had insufficient authentication scopes.'));
      return;
    }
    if (issued.projectId !== project) {
      answer(
        403,
        fcmError(
          403,
          'PERMISSION_DENIED',
          `Permission 'cloudmessaging.messages.create' denied on resource '//cloudresourcemanager.googleapis.com/projects/${project}' (or it may not exist).`,
        ),
      );
      return;
    }
    if (!/^application\/json\b/.test(request.headers['content-type'] ?? '')) {
      answer(400, fcmError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received. Expected application/json.'));
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      answer(400, fcmError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received. Unexpected token.'));
      return;
    }
    record.body = body;
    const problem = fcmBodyProblem(body);
    if (problem) {
      answer(400, fcmError(400, 'INVALID_ARGUMENT', problem, 'INVALID_ARGUMENT'));
      return;
    }
    const message = (body as { message: Record<string, unknown> }).message;
    const token = message.token as string;
    if (unregistered.has(token)) {
      const e = FCM_ERRORS[404]!;
      answer(404, fcmError(404, e.status, e.message, e.errorCode));
      return;
    }
    const failure = script.take(token);
    if (failure) {
      const e = FCM_ERRORS[failure.status] ?? {
        status: 'UNKNOWN',
        errorCode: 'UNSPECIFIED_ERROR',
        message: 'Unknown error.',
      };
      answer(
        failure.status,
        fcmError(failure.status, e.status, e.message, e.errorCode),
        failure.retryAfter ? { 'retry-after': failure.retryAfter } : {},
      );
      return;
    }
    delivered.push(message);
    answer(200, { name: `projects/${project}/messages/0:${Date.now()}%${randomBytes(8).toString('hex')}` });
  }

  const server = createServer((request, response) => {
    const path = request.url ?? '';
    const send = /^\/v1\/projects\/([^/]+)\/messages:send$/.exec(path);
    let work: Promise<void>;
    if (request.method === 'POST' && path === '/token') {
      work = readBody(request).then(async (body) => {
        const answer = await tokens.answer(body.toString('utf8'));
        answerJson(response, answer.status, answer.body);
      });
    } else if (request.method === 'POST' && send) {
      work = handleSend(request, response, decodeURIComponent(send[1] ?? ''));
    } else {
      work = Promise.resolve(
        answerJson(response, 404, fcmError(404, 'NOT_FOUND', `no route ${request.method} ${path}`)),
      );
    }
    work.catch((err: unknown) => {
      if (!response.headersSent) answerJson(response, 500, fcmError(500, 'INTERNAL', (err as Error).message));
    });
  });
  const port = await listenLoopback(server, 'fake FCM');
  const url = `http://127.0.0.1:${port}`;
  tokenUri = `${url}/token`;

  return {
    url,
    tokenUri,
    projectId,
    serviceAccount() {
      const made = makeServiceAccount({ projectId, tokenUri });
      tokens.trust(made.account, made.publicKey);
      return made.account;
    },
    trust(made) {
      tokens.trust(made.account, made.publicKey);
    },
    tokenRequests: tokens.requests,
    sendRequests,
    delivered,
    unregister(token) {
      unregistered.add(token);
    },
    failNext(token, failure) {
      script.add(token, failure);
    },
    revokeAccessTokens() {
      for (const issued of tokens.issued.values()) issued.revoked = true;
    },
    close: () => closeServer(server),
  };
}
