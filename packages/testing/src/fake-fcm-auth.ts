/**
 * The OAuth2 side of the fake FCM: throwaway service accounts (a fresh RSA key each) and Google's
 * token endpoint for the JWT-bearer grant. The assertion is checked as Google does: RS256 signed by
 * the account's key, `iss` the account's email, `aud` the token URI, at most an hour long; the
 * answer is `{access_token, expires_in, token_type: "Bearer"}`, a refusal `{error, error_description}`.
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { decodeJwt, jwtVerify } from 'jose';

/** A service-account key file, as the Firebase console hands it out. */
export interface ServiceAccountJson {
  type: 'service_account';
  project_id: string;
  private_key_id: string;
  private_key: string;
  client_email: string;
  client_id: string;
  auth_uri: string;
  token_uri: string;
}

export interface MakeServiceAccountOptions {
  /** Default `tether-test`. */
  projectId?: string;
  /** Default Google's, `https://oauth2.googleapis.com/token`. */
  tokenUri?: string;
}

export interface ServiceAccountWithKey {
  account: ServiceAccountJson;
  /** The public half, which the token endpoint verifies assertions with. */
  publicKey: KeyObject;
}

/** A service account with a fresh 2048-bit RSA key, for tests (it opens nothing anywhere). */
export function makeServiceAccount(options: MakeServiceAccountOptions = {}): ServiceAccountWithKey {
  const projectId = options.projectId ?? 'tether-test';
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const id = randomBytes(6).toString('hex');
  return {
    account: {
      type: 'service_account',
      project_id: projectId,
      private_key_id: randomBytes(20).toString('hex'),
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: `firebase-adminsdk-${id}@${projectId}.iam.gserviceaccount.com`,
      client_id: String(BigInt(`0x${randomBytes(8).toString('hex')}`)),
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: options.tokenUri ?? 'https://oauth2.googleapis.com/token',
    },
    publicKey,
  };
}

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';

/** One call of the token endpoint, as the fake saw it. */
export interface TokenRequestRecord {
  grantType: string | null;
  /** The assertion's claims (decoded whether or not they verified). */
  claims: Record<string, unknown> | undefined;
  /** The assertion's protected header. */
  header: Record<string, unknown> | undefined;
  /** The issued access token, or the refusal's `error: error_description`. */
  outcome: { accessToken: string } | { error: string };
}

export interface IssuedToken {
  clientEmail: string;
  projectId: string;
  scopes: string[];
  expiresAt: number;
  revoked: boolean;
}

type TokenAnswer =
  | { status: 200; body: Record<string, unknown> }
  | { status: 400 | 401; body: { error: string; error_description: string } };

export class FakeTokenEndpoint {
  private readonly accounts = new Map<string, { projectId: string; publicKey: KeyObject }>();
  readonly issued = new Map<string, IssuedToken>();
  readonly requests: TokenRequestRecord[] = [];

  constructor(
    /** Known once the fake listens. */
    private readonly tokenUri: () => string,
    private readonly lifetimeSeconds: number,
    private readonly now: () => number,
  ) {}

  trust(account: ServiceAccountJson, publicKey: KeyObject): void {
    this.accounts.set(account.client_email, { projectId: account.project_id, publicKey });
  }

  /** Answers a form-encoded token request body. */
  async answer(form: string): Promise<TokenAnswer> {
    const params = new URLSearchParams(form);
    const grantType = params.get('grant_type');
    const assertion = params.get('assertion') ?? '';
    const record: TokenRequestRecord = { grantType, claims: undefined, header: undefined, outcome: { error: '' } };
    this.requests.push(record);
    const refuse = (error: string, description: string): TokenAnswer => {
      record.outcome = { error: `${error}: ${description}` };
      return { status: 400, body: { error, error_description: description } };
    };
    if (grantType !== JWT_BEARER_GRANT)
      return refuse('unsupported_grant_type', `Invalid grant_type: ${grantType ?? ''}`);
    try {
      record.claims = decodeJwt(assertion) as Record<string, unknown>;
      record.header = JSON.parse(Buffer.from(assertion.split('.')[0] ?? '', 'base64url').toString()) as Record<
        string,
        unknown
      >;
    } catch {
      return refuse('invalid_grant', 'Invalid JWT: not a JWT.');
    }
    const issuer = record.claims.iss;
    const account = typeof issuer === 'string' ? this.accounts.get(issuer) : undefined;
    if (!account) return refuse('invalid_grant', 'Invalid grant: account not found');
    try {
      await jwtVerify(assertion, account.publicKey, {
        algorithms: ['RS256'],
        issuer: issuer as string,
        audience: this.tokenUri(),
        currentDate: new Date(this.now()),
        requiredClaims: ['iat', 'exp'],
      });
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') return refuse('invalid_grant', 'Invalid JWT Signature.');
      return refuse('invalid_grant', `Invalid JWT: ${(err as Error).message}`);
    }
    const { iat, exp, scope } = record.claims as { iat: number; exp: number; scope?: unknown };
    if (exp - iat > 3600) {
      return refuse(
        'invalid_grant',
        'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.',
      );
    }
    if (typeof scope !== 'string' || scope.length === 0)
      return refuse('invalid_scope', 'Empty or missing scope not allowed.');
    const accessToken = `ya29.fake-${randomBytes(24).toString('base64url')}`;
    this.issued.set(accessToken, {
      clientEmail: issuer as string,
      projectId: account.projectId,
      scopes: scope.split(' '),
      expiresAt: this.now() + this.lifetimeSeconds * 1000,
      revoked: false,
    });
    record.outcome = { accessToken };
    return { status: 200, body: { access_token: accessToken, expires_in: this.lifetimeSeconds, token_type: 'Bearer' } };
  }
}
