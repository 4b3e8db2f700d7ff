/**
 * `client.presence`: the user's status as this device sees and reports it (docs/client.md,
 * "Presence"). `busy` is set by hand (`set('busy')`, `set(null)` clears it); otherwise the device's
 * status is derived from activity (activity.ts). The device sends `presence {status}` when its
 * status changes and `{status, active: true}` at most every `activityThrottleMs` while the user
 * is active; after a reconnect it sends its status again. `status` is the user's status over all
 * devices, as the server last answered (before any answer: this device's own).
 */
import {
  ErrorCode,
  type DeviceStatus,
  type PresenceFrame,
  type PresenceReply,
  type PresenceStatus,
} from '@tether/protocol/wire';
import { ActivityMonitor, type ActivityOptions } from './activity.js';
import { TypedEmitter } from './emitter.js';
import type { Outcome } from './socket-link.js';
import { isRecord } from './socket-link.js';

export interface PresenceClientOptions extends ActivityOptions {
  /** At most one "active" report per this long. */
  activityThrottleMs: number;
}

export interface PresenceStatusChange {
  status: PresenceStatus;
  previous: PresenceStatus;
}

export interface PresenceEvents {
  status: PresenceStatusChange;
}

/** What the presence needs from the client: a request over the socket, when there is one. */
export interface PresenceHost {
  connected(): boolean;
  request(frame: PresenceFrame): Promise<Outcome<PresenceReply>>;
  onListenerError(err: unknown, event: PropertyKey): void;
  debug(message: string, context?: unknown): void;
}

const STATUSES: readonly string[] = ['online', 'idle', 'away', 'busy', 'offline'];

export class ClientPresence {
  private readonly events: TypedEmitter<PresenceEvents>;
  private readonly activity: ActivityMonitor;
  private manual: 'busy' | undefined;
  private current: PresenceStatus | undefined;
  /** The last status this device reported (undefined: never); after a reconnect it is reported again. */
  private reported: DeviceStatus | undefined;
  private lastActiveSentAt = -Infinity;
  /** The server answered `not_found`: presence is off there, nothing more is sent. */
  private serverOff = false;
  private started = false;
  /** `status` as the last `status` event told it. */
  private told: PresenceStatus = 'online';

  /** @internal Made by the client. */
  constructor(
    private readonly options: PresenceClientOptions,
    private readonly host: PresenceHost,
  ) {
    this.events = new TypedEmitter<PresenceEvents>((err, event) => host.onListenerError(err, event));
    this.activity = new ActivityMonitor(
      options,
      () => this.deviceChanged(),
      () => this.active(),
    );
  }

  /** The user's status over its devices (the server's last answer; before one, this device's own). */
  get status(): PresenceStatus {
    return this.current ?? this.device;
  }

  /** This device's own status: busy if set by hand, else derived from activity. */
  get device(): DeviceStatus {
    return this.manual ?? this.activity.status;
  }

  on<K extends keyof PresenceEvents>(event: K, listener: (context: PresenceEvents[K]) => void): () => void {
    return this.events.on(event, listener);
  }

  off<K extends keyof PresenceEvents>(event: K, listener: (context: PresenceEvents[K]) => void): void {
    this.events.off(event, listener);
  }

  /** `busy` by hand, or `null` to go back to the status activity gives. */
  set(status: 'busy' | null): void {
    if (status !== 'busy' && status !== null) throw new TypeError("presence.set takes 'busy' or null");
    const before = this.device;
    this.manual = status ?? undefined;
    if (this.device !== before) this.deviceChanged();
  }

  /** @internal The socket went: until the server answers again, `status` is this device's own. */
  lost(): void {
    this.current = undefined;
    this.notify();
  }

  /** Records activity now (the SDK also does on publish and subscribe, and on page events in browsers). */
  markActive(): void {
    this.activity.markActive();
  }

  /** @internal The socket opened: the status again if it was ever reported, or is not plain online. */
  opened(): void {
    if (!this.started) {
      this.started = true;
      this.activity.start();
    }
    if (this.reported !== undefined || this.device !== 'online') this.send({ status: this.device });
  }

  /** @internal */
  close(): void {
    this.activity.stop();
    this.events.removeAll();
  }

  private deviceChanged(): void {
    this.send({ status: this.device });
    this.notify();
  }

  private active(): void {
    const now = Date.now();
    if (now - this.lastActiveSentAt < this.options.activityThrottleMs || !this.host.connected()) return;
    this.lastActiveSentAt = now;
    this.send({ status: this.device, active: true });
  }

  private send(frame: PresenceFrame): void {
    if (this.serverOff || !this.host.connected()) return;
    if (frame.status) this.reported = frame.status;
    void this.host.request(frame).then((outcome) => {
      if (outcome.kind === 'reply') return this.answered(outcome.value.status);
      if (outcome.kind === 'error' && outcome.error.code === ErrorCode.NotFound) {
        this.serverOff = true;
        this.host.debug('presence is off on this server');
      }
    });
  }

  private answered(status: PresenceStatus): void {
    this.current = status;
    this.notify();
  }

  /** One door for the `status` event: fired whenever `status` differs from what it last said. */
  private notify(): void {
    const previous = this.told;
    const status = this.status;
    if (status === previous) return;
    this.told = status;
    this.events.emit('status', { status, previous });
  }
}

/** A `presence` reply: `{status}`. */
export function isPresenceReply(value: unknown): value is PresenceReply {
  return isRecord(value) && typeof value['status'] === 'string' && STATUSES.includes(value['status']);
}
