/**
 * One room's messages as the page shows them, folded from the channel's events: `message:created`
 * adds a message, `message:edited` replaces its text, `message:deleted` leaves a tombstone. Each
 * event carries the message's id (`data.id`, the relevance rules' scope) and `at`, the offset of
 * the original, so a client that only ever sees the latest edit (the original was superseded in
 * replay) still knows who wrote it and where it goes. History and live delivery may overlap: each
 * offset is applied once.
 */
export class Room {
  constructor(channel) {
    this.channel = channel;
    /** msgId → { msgId, from, text, at, ts, sending, edited, deleted, version } */
    this.messages = new Map();
    this.applied = new Set();
    /** The highest offset seen in the channel. */
    this.head = 0;
    /** Other users' read positions, from their `read` notices: user → offset. */
    this.readers = new Map();
  }

  /** A message of the channel (live or from history). False when it was applied already. */
  apply(message) {
    if (this.applied.has(message.offset)) return false;
    this.applied.add(message.offset);
    this.head = Math.max(this.head, message.offset);
    const { id: msgId, from, text } = message.data ?? {};
    if (typeof msgId !== 'string') return true; // not a chat event: nothing to show
    const at = message.type === 'message:created' ? message.offset : message.data.at;
    const entry = this.entry(msgId, from, at, message.ts);
    entry.sending = false;
    if (message.type === 'message:created' && entry.version === 0) entry.text = text;
    // A later edit or delete wins over an earlier one, whatever order they arrive in.
    if (message.type === 'message:edited' && message.offset > entry.version && !entry.deleted) {
      Object.assign(entry, { text, edited: true, version: message.offset });
    }
    if (message.type === 'message:deleted') Object.assign(entry, { text: '', deleted: true, version: Infinity });
    return true;
  }

  /** The user's own message, shown as "sending…" until the server has it. */
  addPending(msgId, from, text) {
    this.messages.set(msgId, { msgId, from, text, at: undefined, ts: Date.now(), sending: true, version: 0 });
  }

  /** The publish was acknowledged: the message has its offset. */
  sent(msgId, offset) {
    const entry = this.messages.get(msgId);
    if (!entry) return;
    entry.sending = false;
    entry.at ??= offset;
    this.head = Math.max(this.head, offset);
  }

  /** Sent messages in offset order, then the pending ones in the order they were written. */
  list() {
    const all = [...this.messages.values()];
    const sent = all.filter((m) => m.at !== undefined).sort((a, b) => a.at - b.at);
    return [...sent, ...all.filter((m) => m.at === undefined)];
  }

  /** `user` read the room up to `offset` (positions never move back). */
  read(user, offset) {
    this.readers.set(user, Math.max(offset, this.readers.get(user) ?? 0));
  }

  /** "Seen by": each reader under the last message their position covers. msgId → users. */
  seenBy() {
    const sent = this.list().filter((m) => m.at !== undefined);
    const seen = new Map();
    for (const [user, offset] of this.readers) {
      const last = sent.findLast((m) => m.at <= offset && m.from !== user);
      if (last) seen.set(last.msgId, [...(seen.get(last.msgId) ?? []), user]);
    }
    return seen;
  }

  entry(msgId, from, at, ts) {
    let entry = this.messages.get(msgId);
    if (!entry) {
      entry = { msgId, from: String(from ?? '?'), text: '', at, ts, sending: false, version: 0 };
      this.messages.set(msgId, entry);
    }
    entry.at ??= at;
    return entry;
  }
}
