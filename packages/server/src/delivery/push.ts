import type { Message } from '@tether/protocol';

/** Who a pushed message is for. */
export interface PushTarget {
  tenant: string;
  /** The user, when the channel is a user's inbox. */
  sub: string | undefined;
  channel: string;
  /** Why it is pushed: nobody acked it in time on a live connection. */
  reason: 'unacked';
}

/**
 * The push fallback seam (docs/architecture.md §1.5): gets critical messages that no device acked in time. The
 * webhook and FCM providers come with the push issue; any object with `send` works.
 */
export interface PushProvider {
  readonly name: string;
  send(target: PushTarget, message: Message): Promise<void>;
}
