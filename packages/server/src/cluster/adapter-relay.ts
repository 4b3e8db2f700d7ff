import type { Server as SocketIOServer } from 'socket.io';
import type { AppendedBatch, BatchRelay } from '../delivery/fanout.js';

const EVENT = 'tether:batch';

/**
 * Cross-node fan-out through Socket.IO's Redis adapter: each node shares its appended batches as a
 * server-side event, and every node broadcasts what it receives to its own local room through the
 * one fan-out door (see docs/design-notes.md, "Cluster": a room broadcast through the adapter
 * would reach remote sockets without the remote node's channel state seeing the batch).
 */
export class AdapterRelay implements BatchRelay {
  constructor(private readonly io: SocketIOServer) {}

  share(batch: AppendedBatch): void {
    // The adapter catches its own publish failures (Redis down): a batch lost here is found again
    // by the receiving nodes' gap fill or head check, from the store.
    void this.io.serverSideEmit(EVENT, batch);
  }

  onBatch(handler: (batch: AppendedBatch) => void): void {
    this.io.on(EVENT, (batch: AppendedBatch) => handler(batch));
  }
}
