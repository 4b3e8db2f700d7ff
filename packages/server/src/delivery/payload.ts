import { ErrorCode, TetherError } from '@tether/protocol';

/** Refuses message data whose JSON is larger than the limit (bytes, UTF-8). */
export function checkPayloadSize(data: unknown, maxBytes: number): void {
  const json = JSON.stringify(data ?? null);
  // Cheap bound first: a UTF-8 byte count is at most 3 × the UTF-16 length.
  if (json.length * 3 <= maxBytes) return;
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > maxBytes) {
    throw new TetherError(ErrorCode.PayloadTooLarge, `data is ${bytes} bytes; the limit is ${maxBytes}`);
  }
}
