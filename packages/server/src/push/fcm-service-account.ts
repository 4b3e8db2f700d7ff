/**
 * A Google service account (the JSON file the Firebase console hands out) checked once, at
 * start: a file that cannot be read, is not JSON, lacks a field or holds no RSA private key is a
 * `TypeError` naming the file and what is wrong, not a failed push an hour later.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** The fields of the service-account JSON that the FCM provider uses (the file has more). */
export interface FcmServiceAccount {
  project_id: string;
  client_email: string;
  /** PKCS#8 PEM of the account's RSA key. */
  private_key: string;
  /** Sent as the assertion's `kid`, so Google picks the right key of the account. */
  private_key_id?: string;
  /** The OAuth2 token endpoint. Default `https://oauth2.googleapis.com/token`. */
  token_uri?: string;
}

export interface LoadedServiceAccount {
  projectId: string;
  clientEmail: string;
  privateKeyId: string | undefined;
  tokenUri: string | undefined;
  key: KeyObject;
}

/** Reads (a path) or checks (an object) a service account; throws a `TypeError` saying what is wrong. */
export function loadServiceAccount(source: string | FcmServiceAccount): LoadedServiceAccount {
  const where = typeof source === 'string' ? `fcm service account ${source}` : 'fcm service account';
  let json: unknown = source;
  if (typeof source === 'string') {
    let text: string;
    try {
      text = readFileSync(source, 'utf8');
    } catch (err) {
      throw new TypeError(`${where}: cannot read it: ${(err as Error).message}`, { cause: err });
    }
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new TypeError(`${where}: not valid JSON: ${(err as Error).message}`, { cause: err });
    }
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new TypeError(`${where}: expected a JSON object (a service-account key file)`);
  }
  const fields = json as Record<string, unknown>;
  const text = (name: string, required: boolean): string | undefined => {
    const value = fields[name];
    if (value === undefined && !required) return undefined;
    if (typeof value !== 'string' || value.length === 0) {
      throw new TypeError(`${where}: ${name} must be a non-empty string`);
    }
    return value;
  };
  if (fields.type !== undefined && fields.type !== 'service_account') {
    throw new TypeError(`${where}: type is ${JSON.stringify(fields.type)}, expected "service_account"`);
  }
  const projectId = text('project_id', true) as string;
  const clientEmail = text('client_email', true) as string;
  const pem = text('private_key', true) as string;
  const privateKeyId = text('private_key_id', false);
  const tokenUri = text('token_uri', false);
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new TypeError(`${where}: private_key is not a PEM private key: ${(err as Error).message}`, { cause: err });
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new TypeError(`${where}: private_key must be an RSA key (RS256), got ${key.asymmetricKeyType ?? 'unknown'}`);
  }
  if (tokenUri !== undefined && !/^https?:\/\//.test(tokenUri)) {
    throw new TypeError(`${where}: token_uri must be an http(s) URL, got ${JSON.stringify(tokenUri)}`);
  }
  return { projectId, clientEmail, privateKeyId, tokenUri, key };
}
