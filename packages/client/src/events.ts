/**
 * Typed payloads: an event map names, for each message `type` of a channel, the shape of its
 * `data`. With one, a handler's message is a union discriminated by `type`, and `publish` checks
 * `data` against its `type`. The map is a promise the app makes to itself: the server does not
 * check payloads, so a map is only as true as the code that publishes on the channel.
 *
 * ```ts
 * type TripEvents = { 'trip:requested': { trip: number }; 'trip:cancelled': { reason: string } };
 * client.subscribe<TripEvents>('trip:1', (m) => {
 *   if (m.type === 'trip:cancelled') console.log(m.data.reason); // m.data: { reason: string }
 * });
 * ```
 */
import type { Message } from '@tether/protocol/wire';
import type { PublishOptions } from './publish-queue.js';

/** A channel's message types and the `data` of each; an interface or a type literal. */
export type EventMap = object;

/** No map: any `type`, `data: unknown` (the default). */
export type UntypedEvents = Record<string, unknown>;

/** The message types of a map (its string keys). */
export type EventType<E extends EventMap> = Extract<keyof E, string>;

/** Whether `E` is the open map (string keys): then messages are plain `Message`s. */
type IsOpen<E extends EventMap> = string extends keyof E ? true : false;

/** A message of a typed channel: one member per type, `data` narrowed by `type`. */
export type TypedMessage<E extends EventMap = UntypedEvents> =
  IsOpen<E> extends true
    ? Message
    : { [K in EventType<E>]: Omit<Message, 'type' | 'data'> & { type: K; data: E[K] } }[EventType<E>];

/** `type, data, options?` of a publish, `data` checked against `type` when the map is closed. */
export type PublishArgs<E extends EventMap = UntypedEvents> =
  IsOpen<E> extends true
    ? [type: string, data: unknown, options?: PublishOptions]
    : { [K in EventType<E>]: [type: K, data: E[K], options?: PublishOptions] }[EventType<E>];
