/**
 * An in-process bus between Tether nodes that share one store — the cluster relay without Redis —
 * with fault toggles, after socket.io's cluster-adapter tests: drop the next batches, delay them,
 * or hold them back and release them in reverse order.
 */
import type { AppendedBatch, BatchRelay } from '@tether/server';

export class RelayBus {
  private readonly nodes = new Set<(batch: AppendedBatch) => void>();
  private dropNext = 0;
  private delayMs = 0;
  private held: { deliver: () => void }[] | undefined;

  /** A relay for one node: what it shares reaches every other node of the bus. */
  relay(): BatchRelay {
    let handler: ((batch: AppendedBatch) => void) | undefined;
    const receive = (batch: AppendedBatch): void => handler?.(batch);
    this.nodes.add(receive);
    return {
      share: (batch) => {
        for (const node of this.nodes) if (node !== receive) this.send(() => node(structuredClone(batch)));
      },
      onBatch: (h) => {
        handler = h;
      },
    };
  }

  /** The next `count` deliveries are lost. */
  drop(count = 1): void {
    this.dropNext += count;
  }

  /** Every delivery waits `ms` first. */
  delay(ms: number): void {
    this.delayMs = ms;
  }

  /** Holds deliveries until `release()`. */
  hold(): void {
    this.held ??= [];
  }

  /** Delivers what was held, newest first (the worst order). */
  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const item of held.reverse()) item.deliver();
  }

  private send(deliver: () => void): void {
    if (this.dropNext > 0) {
      this.dropNext--;
      return;
    }
    if (this.held) this.held.push({ deliver });
    else if (this.delayMs > 0) setTimeout(deliver, this.delayMs);
    else queueMicrotask(deliver);
  }
}
