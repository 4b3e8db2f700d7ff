/**
 * Positions kept in the storage, one key per server, tenant, user and channel, so that a new client
 * instance (a reload, an app restart) resumes where the last one stopped: no duplicates, no loss.
 * Saves are throttled (the position moves with every message) and flushed on close and page hide.
 */
import { isPosition, type Position } from '@tether/protocol/wire';
import { parseStored, type KeyValueStorage } from './storage.js';

export class PositionStore {
  private namespace: string | undefined;
  private readonly dirty = new Map<string, Position>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastSave = 0;
  private saving: Promise<void> = Promise.resolve();
  /** Writes scheduled and not finished. */
  private writes = 0;

  constructor(
    private readonly storage: KeyValueStorage,
    private readonly prefix: string,
    private readonly url: string,
    private readonly saveIntervalMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Positions belong to one user of one tenant on one server. */
  setUser(tenant: string, sub: string): void {
    this.namespace = `${this.prefix}:pos:${this.url}:${tenant}:${sub}:`;
  }

  get ready(): boolean {
    return this.namespace !== undefined;
  }

  async load(channel: string): Promise<Position | undefined> {
    if (this.namespace === undefined) return undefined;
    try {
      const stored = parseStored(await this.storage.load(this.namespace + channel));
      return isPosition(stored) ? stored : undefined;
    } catch (err) {
      this.onError(err);
      return undefined;
    }
  }

  set(channel: string, position: Position): void {
    if (this.namespace === undefined) return;
    this.dirty.set(channel, position);
    if (this.timer !== undefined) return;
    const wait = Math.max(0, this.lastSave + this.saveIntervalMs - Date.now());
    this.timer = setTimeout(() => void this.flush(), wait);
  }

  /** Writes every changed position now (synchronously, when the storage is synchronous and idle). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const namespace = this.namespace;
    if (this.dirty.size === 0 || namespace === undefined) return this.saving;
    const batch = [...this.dirty];
    this.dirty.clear();
    this.lastSave = Date.now();
    // Writes are chained, so that an older position never lands after a newer one; an idle chain
    // starts at once, so that a synchronous storage is written before a page-hide handler returns.
    this.saving =
      this.writes++ === 0 ? this.write(namespace, batch) : this.saving.then(() => this.write(namespace, batch));
    return this.saving;
  }

  private async write(namespace: string, batch: [string, Position][]): Promise<void> {
    try {
      for (const [channel, position] of batch) {
        try {
          const pending = this.storage.save(namespace + channel, JSON.stringify(position));
          if (pending) await pending;
        } catch (err) {
          this.onError(err);
        }
      }
    } finally {
      this.writes--;
    }
  }
}
