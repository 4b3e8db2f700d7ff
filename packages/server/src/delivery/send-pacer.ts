import type { Socket } from 'socket.io';
import { drained } from './socket-queue.js';

/**
 * Paces what one connection is sent alone (replay batches): one batch at a time, each once the
 * socket's queue has drained to `belowBytes`, so a resume of many channels reads its backlog from
 * the store as the socket takes it, never into memory ahead of it.
 */
export class SendPacer {
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly socket: Socket,
    private readonly belowBytes: number,
  ) {}

  /** Runs `work` in this connection's turn, once its queue has drained; undefined when the socket went first. */
  async turn<T>(work: () => Promise<T>): Promise<T | undefined> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    try {
      await previous;
      if (!(await drained(this.socket, this.belowBytes))) return undefined;
      return await work();
    } finally {
      release();
    }
  }
}
