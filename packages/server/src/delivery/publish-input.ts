import { CHANNEL_PATTERN, TENANT_PATTERN, httpPublishSchema, parseFrame, type HttpPublishBody } from '@tether/protocol';

/** The longest `type` `httpPublishSchema` takes (`messageType`). */
const MAX_TYPE_LENGTH = 100;

/**
 * A publish input (the library's `publish`, an HTTP body) as `httpPublishSchema` parses it. The
 * common shape — only `channel`, `type`, `data` and maybe `tenant`, all valid — is checked here
 * by hand, with the schema's own rules (no other key, inherited enumerable ones included; a
 * `data` key present, whatever its value; names by the same patterns); anything else, valid or
 * not, goes through the schema, which answers as before (and words the refusal). The result is a
 * new object, as the schema's is: a caller that changes its input afterwards changes nothing.
 */
export function parsePublishInput(input: unknown, what: string): HttpPublishBody {
  return commonPublish(input) ?? parseFrame(httpPublishSchema, input, what);
}

function commonPublish(input: unknown): HttpPublishBody | undefined {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return undefined;
  const fields = input as Record<string, unknown>;
  let hasData = false;
  let hasTenant = false;
  for (const key in fields) {
    if (key === 'data') hasData = true;
    else if (key === 'tenant') hasTenant = true;
    else if (key !== 'channel' && key !== 'type') return undefined;
  }
  const { channel, type, tenant } = fields;
  if (!hasData || typeof channel !== 'string' || !CHANNEL_PATTERN.test(channel)) return undefined;
  if (typeof type !== 'string' || type.length === 0 || type.length > MAX_TYPE_LENGTH) return undefined;
  if (!hasTenant) return { channel, type, data: fields.data };
  // (`tenant: undefined` is the schema's: its answer keeps the key.)
  if (typeof tenant !== 'string' || !TENANT_PATTERN.test(tenant)) return undefined;
  return { channel, type, data: fields.data, tenant };
}
