import type { MsgFrame } from '@tether/protocol';
import { knownDataJsonOf } from '../store/message-json.js';
import { serializeData } from '../store/store-support.js';
import type { StoredMessage } from '../store/types.js';

/** Where a message's envelope text may already be cached (a channel's ring). */
export interface EnvelopeCache {
  envelopeJsonOf(message: StoredMessage): string | undefined;
}

/** `"key":` for the envelope's keys, built once. */
const keyPrefixes = new Map<string, string>();

function keyPrefix(key: string): string {
  let prefix = keyPrefixes.get(key);
  if (prefix === undefined) {
    prefix = `${JSON.stringify(key)}:`;
    if (keyPrefixes.size < 64) keyPrefixes.set(key, prefix);
  }
  return prefix;
}

/**
 * A message's envelope as JSON text: what `JSON.stringify(message)` gives, same keys in the same
 * order, except that `data`'s text is the one the publish step already made (`knownDataJsonOf`)
 * instead of being serialized again. Without one, `data` is serialized here and not remembered
 * beside the message: the ring keeps small envelopes (channel-state.ts), and a big `data`'s text
 * kept for as long as the ring holds its message would double what the ring costs. A message whose
 * `data` is `undefined` carries `"data":null` (the SDK requires the key). A message with a `ttl`
 * (the one that applies: the publish door stores the shorter of its own and its rule's) carries
 * `"expiresAt"` last, so the SDK can drop it when it arrives too late.
 */
export function envelopeJson(message: StoredMessage): string {
  const fields = message as unknown as Record<string, unknown>;
  let out = '{';
  for (const key of Object.keys(fields)) {
    let text: string;
    if (key === 'data') text = knownDataJsonOf(message) ?? serializeData(message.data);
    else {
      const value = fields[key];
      if (value === undefined || typeof value === 'function' || typeof value === 'symbol') continue;
      text = JSON.stringify(value);
    }
    out += (out.length > 1 ? ',' : '') + keyPrefix(key) + text;
  }
  if (message.ttl !== undefined) out += `,"expiresAt":${message.ts + message.ttl}`;
  return out + '}';
}

/** A message as its envelope object (HTTP answers): with `expiresAt` when a ttl applies, as `envelopeJson`. */
export function envelopeOf(message: StoredMessage): StoredMessage & { expiresAt?: number } {
  return message.ttl === undefined ? message : { ...message, expiresAt: message.ts + message.ttl };
}

/**
 * The Socket.IO packet text of `emit('msg', frame)` (type 2, EVENT: `2["msg",{…}]`, with
 * `/nsp,` after the 2 outside the main namespace), built from envelope texts: the frame's fields in
 * the order the frame literal has them (`channel, epoch, messages, upTo?, from?`). Engine.IO adds its
 * message type `4` when it writes the packet.
 */
export function msgPacketText(
  namespace: string,
  frame: Pick<MsgFrame, 'channel' | 'epoch' | 'upTo' | 'from'>,
  envelopes: readonly string[],
): string {
  const head = namespace === '/' ? '2' : `2${namespace},`;
  const upTo = frame.upTo === undefined ? '' : `,"upTo":${JSON.stringify(frame.upTo)}`;
  const from = frame.from === undefined ? '' : `,"from":${JSON.stringify(frame.from)}`;
  return (
    `${head}["msg",{"channel":${JSON.stringify(frame.channel)},"epoch":${JSON.stringify(frame.epoch)},` +
    // One envelope (an inbox message) as it is: `join` would copy it into a new string first.
    `"messages":[${envelopes.length === 1 ? envelopes[0] : envelopes.join(',')}]${upTo}${from}}]`
  );
}

/** The envelope texts of a frame's messages, from `cache` where it has them. */
export function envelopesOf(messages: readonly StoredMessage[], cache?: EnvelopeCache): string[] {
  const out = new Array<string>(messages.length);
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]!;
    out[i] = cache?.envelopeJsonOf(message) ?? envelopeJson(message);
  }
  return out;
}
