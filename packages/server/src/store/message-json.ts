import { serializeData } from './store-support.js';

/**
 * The JSON text of a message's `data`, computed once per message and handed along with it: the
 * publish door's size check, the store's row and the frame on the wire all need the same text, and
 * `data` was serialized three times per publish. Kept beside the object (a WeakMap), never on it,
 * so it cannot leak into a frame or a row as a field, and it goes with the object when that is
 * collected.
 */
const texts = new WeakMap<object, string>();

/**
 * Longer texts are not kept beside their message: a channel's ring holds up to `recentPerChannel`
 * messages, and a second copy of each large one would double what the rings hold (1,024 × 60 KB
 * is 60 MB). Serializing a large message again costs little next to writing and sending it.
 */
export const MAX_KEPT_DATA_JSON = 8 * 1024;

/** `data` as JSON text (`undefined` as `null`), serialized at most once per message object (if short). */
export function dataJsonOf(message: { readonly data: unknown }): string {
  let text = texts.get(message);
  if (text === undefined) {
    text = serializeData(message.data);
    rememberDataJson(message, text);
  }
  return text;
}

/** `data`'s JSON text if it is already known for this message object, without computing it. */
export function knownDataJsonOf(message: { readonly data: unknown }): string | undefined {
  return texts.get(message);
}

/** Records `text` as the JSON of `message.data` (the publish door's, or a store that read it from its row). */
export function rememberDataJson(message: { readonly data: unknown }, text: string): void {
  if (text.length <= MAX_KEPT_DATA_JSON) texts.set(message, text);
}

/** `to` is a copy of `from` with the same `data` (the stored message made from its input): it shares the text. */
export function carryDataJson(from: object, to: object): void {
  const text = texts.get(from);
  if (text !== undefined) texts.set(to, text);
}
