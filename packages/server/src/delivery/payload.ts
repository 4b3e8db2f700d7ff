import { ErrorCode, TetherError } from '@tether/protocol';
import { serializeData } from '../store/store-support.js';

/**
 * `data` as JSON text (`undefined` as `null`), refused when larger than the limit (bytes, UTF-8).
 * This is the one serialization of a publish: the door hands the text on (message-json.ts), so the
 * store and the wire reuse it.
 */
export function payloadJson(data: unknown, maxBytes: number): string {
  const json = serializeData(data);
  // Cheap bound first: a UTF-8 byte count is at most 3 × the UTF-16 length.
  if (json.length * 3 <= maxBytes) return json;
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > maxBytes) {
    throw new TetherError(ErrorCode.PayloadTooLarge, `data is ${bytes} bytes; the limit is ${maxBytes}`);
  }
  return json;
}
