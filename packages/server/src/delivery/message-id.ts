import { randomFillSync } from 'node:crypto';

/** Ids made per refill of the random bytes (as `crypto.randomUUID`'s cache: 128). */
const PER_FILL = 128;
const UUID_LENGTH = 36;

const random = Buffer.alloc(16 * PER_FILL);
const text = Buffer.alloc(UUID_LENGTH * PER_FILL);
let next = PER_FILL;

/** Where each of the 16 bytes of a UUID goes in its 36 characters (dashes after bytes 4, 6, 8, 10). */
const AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
const DASHES = [8, 13, 18, 23];
const HEX = Buffer.from('0123456789abcdef', 'latin1');

/**
 * A random (version 4) UUID, as `crypto.randomUUID()` makes one, for a message its publisher gave
 * no id. `randomUUID` builds its text by concatenating 20 pieces (~0.5 KB of garbage per id, one
 * per message); here 128 ids are written as ASCII into one buffer per refill of the random bytes,
 * and each is one flat string read from it.
 */
export function newMessageId(): string {
  if (next === PER_FILL) refill();
  const start = UUID_LENGTH * next++;
  return text.toString('latin1', start, start + UUID_LENGTH);
}

function refill(): void {
  randomFillSync(random);
  for (let id = 0; id < PER_FILL; id++) {
    const bytes = id * 16;
    // RFC 9562 §5.4: version 4 in the high nibble of byte 6, variant 10 in the high bits of byte 8.
    random[bytes + 6] = (random[bytes + 6]! & 0x0f) | 0x40;
    random[bytes + 8] = (random[bytes + 8]! & 0x3f) | 0x80;
    const base = id * UUID_LENGTH;
    for (let i = 0; i < 16; i++) {
      const byte = random[bytes + i]!;
      text[base + AT[i]!] = HEX[byte >> 4]!;
      text[base + AT[i]! + 1] = HEX[byte & 0x0f]!;
    }
    for (const dash of DASHES) text[base + dash] = 0x2d;
  }
  next = 0;
}
