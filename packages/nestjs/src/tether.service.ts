import type http from 'node:http';
import { Inject, Injectable, type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import {
  createTetherServer,
  type ChannelPresenceResponse,
  type DeliveryStats,
  type HistoryOptions,
  type HistoryResponse,
  type NodeInfo,
  type PresenceReadOptions,
  type PublishInput,
  type PublishResult,
  type TetherServer,
  type UserPresenceResponse,
} from '@tether/server';
import { TETHER_MODULE_OPTIONS, type TetherModuleOptions } from './module-definition.js';

/**
 * Tether on Nest's HTTP server, as an injectable. The server starts in `onModuleInit` (Nest has
 * made its HTTP server by then, on either platform) and closes before Nest closes its HTTP server:
 * open Socket.IO connections would otherwise keep Nest's `server.close()` waiting.
 */
@Injectable()
export class TetherService implements OnModuleInit, BeforeApplicationShutdown {
  private running: TetherServer | undefined;

  constructor(
    @Inject(TETHER_MODULE_OPTIONS) private readonly options: TetherModuleOptions,
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
  ) {}

  async onModuleInit(): Promise<void> {
    const httpServer = this.adapterHost.httpAdapter?.getHttpServer() as http.Server | undefined;
    if (httpServer === undefined) {
      throw new TypeError('TetherModule needs an HTTP application (NestFactory.create), not an application context');
    }
    this.running = await createTetherServer({ ...this.options, httpServer });
  }

  /** Graceful (see TetherServer.close): accepted publishes are written, clients reconnect and resume elsewhere. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.running?.close();
  }

  /** The running server: its Socket.IO server (`io`), `liveNodes()`, `nodeId`. Throws before the module has started. */
  get server(): TetherServer {
    if (this.running === undefined) throw new Error('Tether has not started yet: it starts in onModuleInit');
    return this.running;
  }

  publish(input: PublishInput): Promise<PublishResult> {
    return this.server.publish(input);
  }

  /** Publishes in order; messages to one channel get consecutive offsets. */
  publishMany(inputs: readonly PublishInput[]): Promise<PublishResult[]> {
    return this.server.publishMany(inputs);
  }

  /**
   * A channel's log paged backwards, newest first (as `GET /v1/history`, without a token): pass
   * `next` as `before` for the older page. `relevant: true` leaves out what later messages made
   * irrelevant. Tenant `default` unless `tenant` is given.
   */
  history(channel: string, options?: HistoryOptions): Promise<HistoryResponse> {
    return this.server.history(channel, options);
  }

  /** A user's presence: status (the liveliest device's), devices, lastSeen. `not_found` when presence is off. */
  userPresence(sub: string, options?: PresenceReadOptions): Promise<UserPresenceResponse> {
    return this.server.userPresence(sub, options);
  }

  /** A presence channel's `count`, and its `members` unless the channel is counts-only. `not_found` without presence there. */
  channelPresence(channel: string, options?: PresenceReadOptions): Promise<ChannelPresenceResponse> {
    return this.server.channelPresence(channel, options);
  }

  /** Delivery counters of this process (the metrics endpoint exports the same). */
  stats(): DeliveryStats {
    return this.server.stats();
  }

  /** True when the store answers; false before the module has started or after it closed. */
  async ready(): Promise<boolean> {
    if (this.running === undefined) return false;
    return this.running.ready().catch(() => false);
  }

  /** The cluster's live nodes; empty on a single node. */
  liveNodes(): Promise<NodeInfo[]> {
    return this.server.liveNodes();
  }
}
