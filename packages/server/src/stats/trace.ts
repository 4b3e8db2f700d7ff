/**
 * The trace: "why didn't user U get message M on channel C?" For each device of the user, on this
 * node and (in a cluster) on the others, where it stands on the channel: connected or when last
 * seen, subscribed or not, how far it acked, what was sent to it and not acked, what was given up
 * on (missed) — against the channel's head in the store. Each node answers from its memory (its
 * connections, its ack ledger, its recently departed devices); the other nodes are asked with a
 * server-side emit (cluster/node-query.ts), never by writing anything per connection.
 */
import type { Server as SocketIOServer } from 'socket.io';
import type { Logger } from 'pino';
import type { AckLedger } from '../delivery/ack-ledger.js';
import { streamOf } from '../delivery/channel-registry.js';
import type { ClientConnection } from '../delivery/connection.js';
import type { LogStore } from '../store/types.js';
import { NodeQuery } from '../cluster/node-query.js';
import type { RecentDevices } from './recent-devices.js';

export interface TraceQuestion {
  tenant: string;
  sub: string;
  channel: string;
}

/** Where one device stands, as the node that knows it sees it. */
export interface DeviceTrace {
  nodeId: string;
  deviceId: string;
  /** A socket connection of this device is open on that node now. */
  connected: boolean;
  /** When that connection was opened (connected devices), ms since the Unix epoch. */
  connectedAt: number | null;
  /** When its last connection to that node ended (departed devices). */
  lastSeenAt: number | null;
  /** The connection is subscribed to the channel (live messages reach it). */
  subscribed: boolean;
  /** Highest offset of the channel this device acked (or resumed from) on that node; 0: none known. */
  acked: number;
  /** Subscribed: the channel's head as sent to the connection. */
  sentUpTo: number | null;
  /** Subscribed: sent and neither acked nor given up on. */
  unacked: number | null;
  /** Subscribed: offsets given up on for this connection after the redeliveries (counted missed). */
  missed: number | null;
  /** Subscribed: redeliveries tried since its ack last moved. */
  redeliveries: number | null;
  /** The channel's head minus `acked`: what this device has not acknowledged (filled in by the asker). */
  behind: number;
}

export interface TraceAnswer extends TraceQuestion {
  at: number;
  /** The channel in the store: its epoch and head (the last offset written). */
  epoch: string;
  head: number;
  /** The highest offset any device of the user acked (what the push fallback reads). */
  userAcked: number;
  devices: DeviceTrace[];
  /** False when some node did not answer in time: devices on it are missing. */
  complete: boolean;
}

type LocalTrace = { devices: Omit<DeviceTrace, 'behind'>[]; userAcked: number };

const EVENT = 'tether:trace';

export interface TraceDeps {
  connections: ReadonlySet<ClientConnection>;
  ackLedger: AckLedger;
  recentDevices: RecentDevices;
  store: LogStore;
  now: () => number;
  /** This node's id (`local` on a single node); read when asked, since the cluster joins later. */
  nodeId: () => string;
  /** Reaches the other nodes; undefined on a single node. */
  io: SocketIOServer | undefined;
  timeoutMs: number;
  log: Logger;
}

export class Trace {
  private readonly others: NodeQuery<TraceQuestion, LocalTrace> | undefined;

  constructor(private readonly deps: TraceDeps) {
    this.others = deps.io
      ? new NodeQuery(deps.io, EVENT, isQuestion, isLocalTrace, deps.timeoutMs, deps.log)
      : undefined;
    this.others?.answerWith((question) => this.local(question));
  }

  async ask(question: TraceQuestion): Promise<TraceAnswer> {
    const stream = streamOf(question.tenant, question.channel);
    const [info, own, others] = await Promise.all([
      this.deps.store.info(stream),
      this.local(question),
      this.others?.askOthers(question) ?? { answers: [], complete: true },
    ]);
    const all = [own, ...others.answers];
    const devices = all
      .flatMap((answer) => answer.devices)
      .map((d) => ({ ...d, behind: Math.max(0, info.head - d.acked) }))
      .sort((a, b) => a.deviceId.localeCompare(b.deviceId) || a.nodeId.localeCompare(b.nodeId));
    return {
      ...question,
      at: this.deps.now(),
      epoch: info.epoch,
      head: info.head,
      userAcked: Math.max(...all.map((a) => a.userAcked)),
      devices,
      complete: others.complete,
    };
  }

  /** What this node knows of the user's devices on the channel. */
  private local(question: TraceQuestion): LocalTrace {
    const { tenant, sub, channel } = question;
    const { ackLedger } = this.deps;
    const stream = streamOf(tenant, channel);
    const nodeId = this.deps.nodeId();
    const devices: Omit<DeviceTrace, 'behind'>[] = [];
    const connected = new Set<string>();
    for (const connection of this.deps.connections) {
      const ctx = connection.context;
      if (ctx.tenant !== tenant || ctx.sub !== sub) continue;
      connected.add(ctx.deviceId);
      const ledger = ackLedger.ackedByDevice(stream, sub, ctx.deviceId);
      let subscription;
      for (const s of connection.subscriptions()) if (s.state.channel === channel) subscription = s;
      const base = {
        nodeId,
        deviceId: ctx.deviceId,
        connected: true,
        connectedAt: connection.socket.handshake.issued,
        lastSeenAt: null,
      };
      if (!subscription) {
        devices.push({
          ...base,
          subscribed: false,
          acked: ledger,
          sentUpTo: null,
          unacked: null,
          missed: null,
          redeliveries: null,
        });
        continue;
      }
      const acked = Math.max(subscription.acked, ledger);
      const head = subscription.state.head;
      devices.push({
        ...base,
        subscribed: true,
        acked,
        sentUpTo: head,
        unacked: Math.max(0, head - Math.max(acked, subscription.missedUpTo)),
        missed: Math.max(0, subscription.missedUpTo - acked),
        redeliveries: subscription.attempts,
      });
    }
    for (const [deviceId, at] of this.deps.recentDevices.of(tenant, sub)) {
      if (connected.has(deviceId)) continue;
      devices.push({
        nodeId,
        deviceId,
        connected: false,
        connectedAt: null,
        lastSeenAt: at,
        subscribed: false,
        acked: ackLedger.ackedByDevice(stream, sub, deviceId),
        sentUpTo: null,
        unacked: null,
        missed: null,
        redeliveries: null,
      });
    }
    return { devices, userAcked: ackLedger.ackedByUser(stream, sub) };
  }
}

function isQuestion(value: unknown): value is TraceQuestion {
  const q = value as Partial<TraceQuestion> | null;
  return typeof q === 'object' && q !== null && [q.tenant, q.sub, q.channel].every((v) => typeof v === 'string');
}

function isLocalTrace(value: unknown): value is LocalTrace {
  const a = value as Partial<LocalTrace> | null;
  return typeof a === 'object' && a !== null && Array.isArray(a.devices) && typeof a.userAcked === 'number';
}
