import { ErrorCode, TetherError, DEFAULT_TENANT } from '@tether/protocol';
import type { PublishInput, PublishResult } from '../api.js';
import { checkDataShape } from '../guard/data-shape.js';
import type { AppendInput, AppendResult } from '../store/types.js';
import type { PublishPush } from '../push/options.js';
import { rememberDataJson } from '../store/message-json.js';
import { newMessageId } from './message-id.js';
import { payloadJson } from './payload.js';
import { parsePublishInput } from './publish-input.js';
import { answerOf, type Publisher } from './publisher.js';
import type { StartupGate } from './startup-gate.js';

/**
 * A publish as a path hands it over once it has parsed it (a socket `pub` frame, an HTTP body):
 * the door does not parse it again. The tenant defaults here, once.
 */
export type AcceptedPublish = PublishInput;

export interface PublishDoorDeps {
  publisher: Publisher;
  isClosing: () => boolean;
  /** Publishes wait here until the node has started (the cluster join). */
  gate: StartupGate;
  maxDataDepth: number;
  maxPayloadBytes: number;
  now: () => number;
  /** Told of every message appended (not of duplicates), with the publish's own push policy: the push fallback. */
  onAppended?: (tenant: string, channel: string, result: AppendResult, push: PublishPush | undefined) => void;
  /**
   * The ttl that applies to a message of `type` (the shorter of its own and its type's rule): the
   * stored `ttl` is that one, so every envelope can carry its `expiresAt`. Default: its own.
   */
  ttlFor?: (type: string, ownTtl: number | undefined) => number | undefined;
}

/**
 * The one door every publish goes through: refused while closing, `data` checked once (shape,
 * then size, which serializes it: the text goes on to the store and the wire), the tenant, id and
 * timestamp defaulted once, and held until the node has started (see StartupGate). Each path
 * validates its input exactly once: the socket and HTTP paths parse their frame or body and call
 * `publish`; the library's untrusted input goes through `publishInput` / `publishMany`, which parse it.
 */
export class PublishDoor {
  constructor(private readonly deps: PublishDoorDeps) {}

  /** An input its path has already parsed (socket frame, HTTP body). */
  publish(input: AcceptedPublish): Promise<PublishResult> {
    // Not async (one promise per publish less); a refusal still arrives as a rejection.
    try {
      return this.admit(input, this.check(input));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  /** The library's `publish`: the input parsed (as an HTTP body is), then published. */
  publishInput(input: PublishInput): Promise<PublishResult> {
    try {
      const body = parsePublishInput(input, 'publish input');
      return this.admit(body, this.check(body));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  /** The library's `publishMany`: every input parsed and checked (as an HTTP body is) before any is published. */
  async publishMany(inputs: readonly PublishInput[]): Promise<PublishResult[]> {
    const accepted = inputs.map((input) => {
      const body = parsePublishInput(input, 'publish input');
      return { body, dataJson: this.check(body) };
    });
    return Promise.all(accepted.map(({ body, dataJson }) => this.admit(body, dataJson)));
  }

  /** Refuses while closing or for bad `data`; returns `data`'s JSON text. */
  private check(input: Pick<AcceptedPublish, 'data'>): string {
    if (this.deps.isClosing()) throw new TetherError(ErrorCode.ShuttingDown, 'server is shutting down');
    checkDataShape(input.data, this.deps.maxDataDepth, this.deps.maxPayloadBytes);
    return payloadJson(input.data, this.deps.maxPayloadBytes);
  }

  /**
   * Not async (no promise of its own around the publisher's, and none while the gate is open): the
   * answer is the publisher's promise mapped once. A throw still arrives as a rejection.
   */
  private admit(input: AcceptedPublish, dataJson: string): Promise<PublishResult> {
    try {
      const starting = this.deps.gate.pass();
      if (starting) return starting.then(() => this.append(input, dataJson));
      return this.append(input, dataJson);
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  private append(input: AcceptedPublish, dataJson: string): Promise<PublishResult> {
    const { deps } = this;
    const { tenant = DEFAULT_TENANT, channel, id, push } = input;
    // Built field by field (no rest or spread copies): one object per publish. An id the server
    // makes up cannot be repeated by anyone: it needs no idempotency entry.
    const message: AppendInput =
      id === undefined
        ? { id: newMessageId(), type: input.type, data: input.data, ts: deps.now(), idempotent: false }
        : { id, type: input.type, data: input.data, ts: deps.now() };
    const ttl = deps.ttlFor ? deps.ttlFor(input.type, input.ttl) : input.ttl;
    if (ttl !== undefined) message.ttl = ttl;
    if (input.critical !== undefined) message.critical = input.critical;
    if (input.collapseKey !== undefined) message.collapseKey = input.collapseKey;
    // `normal` is the default: left off so that it is absent in the store and on the wire.
    if (input.priority !== undefined && input.priority !== 'normal') message.priority = input.priority;
    rememberDataJson(message, dataJson);
    // With no one to tell (no push fallback), the publisher's promise is the answer: no second one.
    if (!deps.onAppended) return deps.publisher.publishForAnswer(tenant, channel, message);
    const appended = deps.publisher.publish(tenant, channel, message);
    const tell = deps.onAppended;
    return appended.then((result) => {
      if (!result.duplicate) tell(tenant, channel, result, push);
      return answerOf(result);
    });
  }
}
