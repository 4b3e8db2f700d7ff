import { randomUUID } from 'node:crypto';
import { ErrorCode, TetherError, DEFAULT_TENANT, httpPublishSchema, parseFrame } from '@tether/protocol';
import type { PublishInput, PublishResult } from '../api.js';
import { checkDataShape } from '../guard/data-shape.js';
import { checkPayloadSize } from './payload.js';
import type { Publisher } from './publisher.js';
import type { StartupGate } from './startup-gate.js';

/** A publish as every path hands it over, parsed (socket frames, HTTP, the library); the tenant defaults here, once. */
export type AcceptedPublish = PublishInput;

export interface PublishDoorDeps {
  publisher: Publisher;
  isClosing: () => boolean;
  /** Publishes wait here until the node has started (the cluster join). */
  gate: StartupGate;
  maxDataDepth: number;
  maxPayloadBytes: number;
  now: () => number;
}

/**
 * The one door every publish goes through: refused while closing, `data` checked once (shape,
 * then size), the tenant, id and timestamp defaulted once, and held until the node has started
 * (see StartupGate).
 */
export class PublishDoor {
  constructor(private readonly deps: PublishDoorDeps) {}

  async publish(input: AcceptedPublish): Promise<PublishResult> {
    this.check(input);
    return this.admit(input);
  }

  /** The library's `publishMany`: every input parsed and checked (as an HTTP body is) before any is published. */
  async publishMany(inputs: readonly PublishInput[]): Promise<PublishResult[]> {
    const accepted = inputs.map((input) => {
      const body = parseFrame(httpPublishSchema, input, 'publish input');
      this.check(body);
      return body;
    });
    return Promise.all(accepted.map((input) => this.admit(input)));
  }

  private check(input: Pick<AcceptedPublish, 'data'>): void {
    if (this.deps.isClosing()) throw new TetherError(ErrorCode.ShuttingDown, 'server is shutting down');
    checkDataShape(input.data, this.deps.maxDataDepth, this.deps.maxPayloadBytes);
    checkPayloadSize(input.data, this.deps.maxPayloadBytes);
  }

  private async admit(input: AcceptedPublish): Promise<PublishResult> {
    const { deps } = this;
    const starting = deps.gate.pass();
    if (starting) await starting;
    const { tenant = DEFAULT_TENANT, channel, id = randomUUID(), ...rest } = input;
    const result = await deps.publisher.publish(tenant, channel, { ...rest, id, ts: deps.now() });
    return { offset: result.offset, epoch: result.epoch, duplicate: result.duplicate };
  }
}
