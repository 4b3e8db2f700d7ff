import type { StoredMessage } from './types.js';
import { serializeData, setNonNullFields, type OptionalFields } from './store-support.js';

/**
 * The JSON text of a message's `data`, computed once per message and handed along with it: the
 * publish door's size check, the store's row and the frame on the wire all need the same text, and
 * `data` was serialized three times per publish. Kept on the object under a private symbol, as a
 * non-enumerable property: no key, spread, `JSON.stringify` or equality check sees it, so it cannot
 * leak into a frame or a row as a field, and it goes with the object when that is collected. Not a
 * WeakMap for every message: its entries made each garbage collection of a node holding millions of
 * messages (rings, the memory store) mark them as ephemerons, and cost a map insert per message.
 * An object that can no longer take properties (frozen before its text was known) keeps it in a
 * WeakMap beside it.
 */
const DATA_JSON = Symbol('dataJson');
const textsOfSealed = new WeakMap<object, string>();

interface WithDataJson {
  readonly [DATA_JSON]?: string;
}

/**
 * Longer texts are not kept beside their message: a channel's ring holds up to `recentPerChannel`
 * messages, and a second copy of each large one would double what the rings hold (1,024 × 60 KB
 * is 60 MB). Serializing a large message again costs little next to writing and sending it.
 */
export const MAX_KEPT_DATA_JSON = 8 * 1024;

/** `data` as JSON text (`undefined` as `null`), serialized at most once per message object (if short). */
export function dataJsonOf(message: { readonly data: unknown }): string {
  let text = knownDataJsonOf(message);
  if (text === undefined) {
    text = serializeData(message.data);
    rememberDataJson(message, text);
  }
  return text;
}

/** `data`'s JSON text if it is already known for this message object, without computing it. */
export function knownDataJsonOf(message: { readonly data: unknown }): string | undefined {
  return (message as WithDataJson)[DATA_JSON] ?? textsOfSealed.get(message);
}

/** Records `text` as the JSON of `message.data` (the publish door's, or a store that read it from its row). */
export function rememberDataJson(message: { readonly data: unknown }, text: string): void {
  if (text.length > MAX_KEPT_DATA_JSON) return;
  if (Object.isExtensible(message)) defineDataJson(message, text, true);
  else textsOfSealed.set(message, text);
}

/** One descriptor object for every definition (its value set for the call): none made per message. */
const DATA_JSON_DESCRIPTOR: PropertyDescriptor = { value: undefined, writable: false };

function defineDataJson(message: object, text: string, writable: boolean): void {
  DATA_JSON_DESCRIPTOR.value = text;
  DATA_JSON_DESCRIPTOR.writable = writable;
  Object.defineProperty(message, DATA_JSON, DATA_JSON_DESCRIPTOR);
  DATA_JSON_DESCRIPTOR.value = undefined;
}

/** `to` is a copy of `from` with the same `data` (the stored message made from its input): it shares the text. */
export function carryDataJson(from: { readonly data: unknown }, to: { readonly data: unknown }): void {
  const text = knownDataJsonOf(from);
  if (text !== undefined) rememberDataJson(to, text);
}

/** `data` parsed from its kept text, for the messages that were asked for it (most never are). */
const parsedData = new WeakMap<object, unknown>();

/** The getter of a lazy `data`: parses the kept text once per message, then answers the same value. */
function lazyData(this: WithDataJson): unknown {
  if (parsedData.has(this)) return parsedData.get(this);
  const value: unknown = JSON.parse(this[DATA_JSON] ?? 'null');
  parsedData.set(this, value);
  return value;
}

/** One descriptor for every lazy `data` (enumerable like a field; never redefined). */
const LAZY_DATA: PropertyDescriptor = { get: lazyData, enumerable: true };

/** A message's fields other than `data` and the optional ones, in the normal form's order. */
interface MessageHead {
  id: string;
  type: string;
  ts: number;
  offset: number;
}

/**
 * A frozen stored message whose `data` is its JSON text, parsed only when something reads `data`
 * (relevance rules, push notices, HTTP reads); the wire uses the text. An inbox message is sent once
 * and then only waits in a ring, so it never pays for a parse nor keeps a second, parsed copy of its
 * data (which the scavenger copied and promoted with it). `data` is an own enumerable accessor put
 * between `type` and `ts`, so keys, spreads, `JSON.stringify` and equality see `storedMessage`'s
 * normal form; a text too long to be kept beside its message (`MAX_KEPT_DATA_JSON`) is parsed at
 * once instead.
 */
export function frozenMessageOfJson(head: MessageHead, dataJson: string, optional: OptionalFields): StoredMessage {
  const message = messageOfJson(head.id, head.type, head.ts, head.offset, dataJson);
  setNonNullFields(message, optional);
  return Object.freeze(message);
}

/**
 * `frozenMessageOfJson`'s message before its optional fields and its freeze: a store that has them
 * in another form (the memory engine, from the input itself) sets them, then freezes it.
 */
export function messageOfJson(id: string, type: string, ts: number, offset: number, dataJson: string): StoredMessage {
  if (dataJson.length > MAX_KEPT_DATA_JSON) return { id, type, data: JSON.parse(dataJson), ts, offset };
  // Built key by key, so that `data` keeps its place in the key order (the envelope's order).
  const message = { id, type } as StoredMessage;
  Object.defineProperty(message, 'data', LAZY_DATA);
  message.ts = ts;
  message.offset = offset;
  defineDataJson(message, dataJson, false);
  return message;
}
