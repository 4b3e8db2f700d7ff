import { createHash, timingSafeEqual } from 'node:crypto';
import { ErrorCode, TetherError } from '@tether/protocol';

/**
 * The admin keys (`adminKeys`: the operator's endpoints, such as `/metrics`), compared by digest in
 * constant time as the API keys are (credentials.ts). With no admin key configured, every
 * presented key is refused: an admin endpoint is never open by default.
 */
export class AdminKeyRing {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(digest);
  }

  /** Throws `unauthorized` unless `presented` is one of the admin keys. */
  check(presented: string): void {
    const candidate = digest(presented);
    let found = false;
    for (const expected of this.digests) if (timingSafeEqual(expected, candidate)) found = true;
    if (!found) throw new TetherError(ErrorCode.Unauthorized, 'unknown admin key');
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
