/**
 * The RTT probe (docs/protocol.md `probe`; defaults: docs/architecture.md §6): a `probe` right after connecting and every `probeIntervalMs`; the
 * round trip feeds the RTT and the connection quality. A probe unanswered within `probeTimeoutMs`
 * means the connection is dead even if TCP has not noticed (half-open: a stalled NAT, a phone that
 * changed networks), so the client replaces it instead of waiting for Socket.IO's ping timeout.
 */
import type { ProbeReply } from '@tether/protocol/wire';
import type { Outcome } from './socket-link.js';
import { isRecord } from './socket-link.js';

export type Prober = (timeoutMs: number) => Promise<Outcome<ProbeReply>>;

export interface HeartbeatHandlers {
  /** A probe came back: its round trip, and how far the server's clock is ahead of ours (ms, estimated). */
  rtt(ms: number, serverAheadMs: number): void;
  /** No answer in time on a connection that still looks up. */
  dead(): void;
}

export function isProbeReply(value: unknown): value is ProbeReply {
  return isRecord(value) && typeof value['ts'] === 'number' && typeof value['serverTs'] === 'number';
}

export class Heartbeat {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private generation = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
    private readonly handlers: HeartbeatHandlers,
  ) {}

  /** Probes now, then every interval, until `stop()`. */
  start(probe: Prober): void {
    this.stop();
    const generation = this.generation;
    const tick = async (): Promise<void> => {
      const sent = Date.now();
      const outcome = await probe(this.timeoutMs);
      if (generation !== this.generation) return; // stopped, or another connection took over
      if (outcome.kind === 'reply') {
        const received = Date.now();
        const rtt = received - sent;
        // The server read its clock about half a round trip before the reply arrived.
        this.handlers.rtt(rtt, outcome.value.serverTs - (received - rtt / 2));
      } else if (outcome.kind === 'lost' && outcome.timedOut) {
        this.stop();
        this.handlers.dead();
        return;
      }
      this.timer = setTimeout(() => void tick(), this.intervalMs);
    };
    void tick();
  }

  stop(): void {
    this.generation++;
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
