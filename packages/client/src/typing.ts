/**
 * Typing indicators of one channel (docs/client.md, "Typing"): who is typing now, each expiring by
 * itself `typingExpiryMs` after their last notice (the server stores nothing and sends no "stopped"),
 * and the throttle of this client's own `typing` frames (at most one per `typingThrottleMs`).
 */
import type { TypingNotice } from '@tether/protocol/wire';

export interface TypingContext {
  channel: string;
  /** The user typing. */
  sub: string;
}

export interface TypingOptions {
  expiryMs: number;
  throttleMs: number;
}

export type TypingEvent = 'typing' | 'typingStopped';

export class ChannelTyping {
  /** Typists, each with the timer that ends them. */
  private readonly typists = new Map<string, ReturnType<typeof setTimeout>>();
  private lastSentAt = -Infinity;

  constructor(
    private readonly channel: () => string,
    private readonly options: TypingOptions,
    private readonly emit: (event: TypingEvent, context: TypingContext) => void,
  ) {}

  /** `sub` is typing: `typing` when it was not already, and its expiry starts again. */
  heard(sub: string): void {
    const running = this.typists.get(sub);
    if (running !== undefined) clearTimeout(running);
    this.typists.set(
      sub,
      setTimeout(() => this.stopped(sub), this.options.expiryMs),
    );
    if (running === undefined) this.emit('typing', { channel: this.channel(), sub });
  }

  /** The users typing now, in the order they started. */
  list(): string[] {
    return [...this.typists.keys()];
  }

  /** Whether an own `typing` frame may go now; taking it starts the next throttle window. */
  take(now: number): boolean {
    if (now - this.lastSentAt < this.options.throttleMs) return false;
    this.lastSentAt = now;
    return true;
  }

  /** Forgets every typist without events (the subscription ended). */
  clear(): void {
    for (const timer of this.typists.values()) clearTimeout(timer);
    this.typists.clear();
  }

  private stopped(sub: string): void {
    if (!this.typists.delete(sub)) return;
    this.emit('typingStopped', { channel: this.channel(), sub });
  }
}

/** Where a typing notice goes: the channel's subscription, unless it is this user's own typing (another device). */
export function routeTyping(
  notice: TypingNotice,
  ownSub: string | undefined,
  find: (channel: string) => { heardTyping(sub: string): void } | undefined,
): void {
  if (notice.sub === ownSub) return;
  find(notice.channel)?.heardTyping(notice.sub);
}
