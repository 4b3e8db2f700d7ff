/**
 * fast-check arbitraries for fuzzing a Tether server: Engine.IO packets of every type, Socket.IO
 * packets of every type (with and without namespace, ack id, attachments and payload), valid-looking
 * frames of every inbound event with hostile values, and HTTP bodies. Payloads are built as JSON
 * *text*, so that keys such as `__proto__` arrive as the own properties a hostile client would send,
 * and number literals such as `-0` or `1e999` reach the server's parser as written.
 * Used by the fuzz tests and by `npm run bench -- fuzz`.
 */
import fc from 'fast-check';

export type Arbitrary<T> = fc.Arbitrary<T>;

/** Number literals that break naive checks (as JSON text). */
export const hostileNumber: Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '-0',
    '0',
    '1',
    '-1',
    '0.5',
    '1.5',
    '-2.5',
    '1e308',
    '-1e308',
    '1e999',
    '-1e999',
    '5e-324',
    '9007199254740991',
    '9007199254740992',
    '9007199254740993',
    '-9007199254740993',
    '4294967296',
    '1E3',
    '123456789012345678901234567890',
  ),
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
);

/** Keys that name prototypes, methods or our own fields. */
export const hostileKey: Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'hasOwnProperty',
    'valueOf',
    'channel',
    'data',
    'since',
    'offset',
    'epoch',
    'acks',
    'token',
    'type',
    'id',
    'ts',
    'ttl',
    'critical',
    'collapseKey',
    'tenant',
    '',
  ),
  fc.string({ maxLength: 12 }),
);

/** Strings: empty, long, unicode (astral, combining, controls, lone surrogates), separators. */
export const hostileString: Arbitrary<string> = fc.oneof(
  fc.constantFrom('', ' ', 'a', 'room:f0', 'room/x', '__proto__', 'é', '\u0000', '\u{1F600}', '\ud800', 'a\u0301'),
  fc.string({ maxLength: 40, unit: 'grapheme' }),
  fc.string({ maxLength: 40, unit: 'binary' }),
  fc.integer({ min: 100, max: 5000 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 1, max: 1000 }).map((n) => '\u{1F600}'.repeat(n)),
);

const text = (s: string): string => JSON.stringify(s);

/** Arrays and objects nested `depth` levels, as text. */
export function nestedText(depth: number, object: boolean): string {
  return object ? `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}` : `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

/** Any JSON-ish value as text: scalars, hostile keys, deep nesting, large strings. */
export const jsonText: Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 2, arbitrary: fc.constantFrom('null', 'true', 'false') },
    { weight: 3, arbitrary: hostileNumber },
    { weight: 3, arbitrary: hostileString.map(text) },
    { weight: 2, arbitrary: fc.array(tie('value'), { maxLength: 4 }).map((items) => `[${items.join(',')}]`) },
    {
      weight: 2,
      arbitrary: fc
        .array(fc.tuple(hostileKey, tie('value')), { maxLength: 4 })
        .map((entries) => `{${entries.map(([k, v]) => `${text(k)}:${v}`).join(',')}}`),
    },
    // Around the default depth limit (32), and far beyond it (where recursive code overflows).
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constantFrom(64, 1000, 5000)), fc.boolean())
        .map(([d, o]) => nestedText(d, o)),
    },
  ),
})).value;

/** A channel name: one the fuzzing client may use, one it may not, or a hostile string. */
export function channelText(channels: readonly string[]): Arbitrary<string> {
  return fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...channels).map(text) }, hostileString.map(text), jsonText);
}

/** A field value: usually well-typed for its field, sometimes hostile. */
function field(valid: Arbitrary<string>): Arbitrary<string> {
  return fc.oneof({ weight: 3, arbitrary: valid }, { weight: 1, arbitrary: jsonText });
}

function objectText(fields: Record<string, Arbitrary<string>>, optional: readonly string[]): Arbitrary<string> {
  const entries = Object.entries(fields).map(([key, value]) =>
    optional.includes(key) ? fc.option(value.map((v) => `${text(key)}:${v}`)) : value.map((v) => `${text(key)}:${v}`),
  );
  const extra = fc.option(
    fc.tuple(hostileKey, jsonText).map(([k, v]) => `${text(k)}:${v}`),
    { freq: 4 },
  );
  return fc
    .tuple(fc.tuple(...entries), extra)
    .map(([parts, more]) => `{${[...parts, more].filter((p): p is string => p !== null).join(',')}}`);
}

export interface EventFrameOptions {
  /** Channel names the fuzzing client is likely to be allowed (subscribe and/or publish). */
  channels: readonly string[];
  /** Tokens for `refresh` (valid, another user's, expired …). */
  tokens: readonly string[];
}

export type InboundEvent =
  'sub' | 'unsub' | 'pub' | 'ack' | 'refresh' | 'probe' | 'typing' | 'read' | 'unread' | 'presence' | 'members';
export const INBOUND_EVENTS: readonly InboundEvent[] = [
  'sub',
  'unsub',
  'pub',
  'ack',
  'refresh',
  'probe',
  'typing',
  'read',
  'unread',
  'presence',
  'members',
];

/** The payload text of a valid-looking frame of `event`, with hostile values mixed in. */
export function eventPayload(event: InboundEvent, options: EventFrameOptions): Arbitrary<string> {
  const channel = channelText(options.channels);
  const offset = field(fc.nat({ max: 50 }).map(String));
  const position = field(objectText({ offset, epoch: field(hostileString.map(text)) }, ['epoch']));
  switch (event) {
    case 'sub':
      return objectText({ channel, since: position }, ['since']);
    case 'unsub':
      return objectText({ channel }, []);
    case 'pub':
      return objectText(
        {
          channel,
          type: field(fc.constantFrom('t', 'chat', 'x'.repeat(100)).map(text)),
          data: jsonText,
          id: field(fc.uuid().map(text)),
          ttl: field(fc.integer({ min: 60_000, max: 3_600_000 }).map(String)),
          critical: field(fc.boolean().map(String)),
          collapseKey: field(hostileString.map(text)),
        },
        ['ttl', 'critical', 'collapseKey'],
      );
    case 'ack':
      return objectText(
        {
          acks: field(
            fc
              .array(fc.tuple(channel, offset), { maxLength: 3 })
              .map((e) => `{${e.map(([c, o]) => `${c}:${o}`).join(',')}}`),
          ),
        },
        [],
      );
    case 'refresh':
      return objectText({ token: field(fc.constantFrom(...options.tokens, 'a.b.c').map(text)) }, []);
    case 'probe':
      return objectText({ ts: field(hostileNumber) }, []);
    case 'typing':
      return objectText({ channel }, []);
    case 'read':
      return objectText({ channel, offset }, []);
    case 'unread':
      return objectText({ channels: field(fc.array(channel, { maxLength: 4 }).map((cs) => `[${cs.join(',')}]`)) }, [
        'channels',
      ]);
    case 'presence':
      return objectText(
        {
          status: field(fc.constantFrom('online', 'idle', 'away', 'busy', 'offline', 'BUSY').map(text)),
          active: field(fc.constantFrom('true', 'false', '1')),
        },
        ['status', 'active'],
      );
    case 'members':
      return objectText({ channel }, []);
  }
}

export interface EventFrame {
  event: string;
  /** The payload arguments as JSON text, each (usually one). */
  args: string[];
  /** Whether the frame asks for a reply (an ack id). */
  withReply: boolean;
}

/** A frame of an inbound event (or an unknown one) with one or more hostile payloads. */
export function eventFrame(options: EventFrameOptions): Arbitrary<EventFrame> {
  const known = fc.constantFrom(...INBOUND_EVENTS).chain((event) =>
    fc.record({
      event: fc.constant<string>(event),
      args: fc.oneof(
        { weight: 8, arbitrary: eventPayload(event, options).map((p) => [p]) },
        { weight: 1, arbitrary: fc.array(jsonText, { maxLength: 3 }) },
      ),
      withReply: fc.boolean(),
    }),
  );
  const unknown = fc.record({
    event: fc.oneof(
      fc.constantFrom('error', 'msg', 'resync', 'typing-', 'SUB', 'sub ', '__proto__', 'constructor', 'toString'),
      hostileString.filter((s) => !RESERVED_EVENTS.has(s) && !(INBOUND_EVENTS as readonly string[]).includes(s)),
    ),
    args: fc.array(jsonText, { maxLength: 2 }),
    withReply: fc.boolean(),
  });
  return fc.oneof({ weight: 6, arbitrary: known }, { weight: 1, arbitrary: unknown });
}

/** Event names Socket.IO clients may not emit (its parser refuses them); not the server's concern. */
const RESERVED_EVENTS = new Set([
  'connect',
  'connect_error',
  'disconnect',
  'disconnecting',
  'newListener',
  'removeListener',
]);

/** A Socket.IO EVENT packet (without the Engine.IO `4`) for a frame, with ack id `ackId` when it wants a reply. */
export function eventPacket(frame: EventFrame, ackId: number): string {
  return `2${frame.withReply ? ackId : ''}[${[text(frame.event), ...frame.args].join(',')}]`;
}

/**
 * Socket.IO packets of every type (CONNECT 0 … BINARY_ACK 6, and types that do not exist), each
 * part present or not: attachment count, namespace, ack id, payload.
 */
export const socketIoPacket: Arbitrary<string> = fc
  .record({
    type: fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 0, max: 6 }).map(String) },
      fc.constantFrom('7', '9', 'x', '-', ''),
    ),
    attachments: fc.option(fc.oneof(fc.integer({ min: -1, max: 12 }).map(String), fc.constantFrom('x', '')), {
      freq: 3,
    }),
    nsp: fc.option(fc.constantFrom('/', '/nowhere', '/admin', `/${'n'.repeat(300)}`, '/é'), { freq: 3 }),
    id: fc.option(fc.oneof(fc.nat().map(String), fc.constantFrom('0', '99999999999999999999999')), { freq: 2 }),
    payload: fc.option(
      fc.oneof(
        jsonText,
        fc.tuple(hostileString, jsonText).map(([name, arg]) => `[${text(name)},${arg}]`),
        fc.constantFrom('{"token":"x"}', '["sub",{"channel":', '[', ']', '"', '{}', '[]', '[null]'),
      ),
      { freq: 2 },
    ),
  })
  .map(
    ({ type, attachments, nsp, id, payload }) =>
      `${type}${attachments !== null ? `${attachments}-` : ''}${nsp !== null ? `${nsp},` : ''}${id ?? ''}${payload ?? ''}`,
  );

/** Engine.IO packets of every type (open 0 … noop 6, and unknown ones), text or binary. */
export const engineIoPacket: Arbitrary<string | Uint8Array> = fc.oneof(
  { weight: 6, arbitrary: socketIoPacket.map((p) => `4${p}`) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.constantFrom('0', '1', '2', '3', '5', '6', '7', '9', 'x', 'b', ''),
        fc.option(fc.string({ maxLength: 20 })),
      )
      .map(([type, rest]) => `${type}${rest ?? ''}`),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
);

/** An HTTP body for `route` as text: valid-looking with hostile values, or any JSON, or not JSON. */
export function httpBody(
  route: '/v1/publish' | '/v1/poll' | '/v1/ack' | '/v1/read',
  channels: readonly string[],
): Arbitrary<string> {
  const channel = channelText(channels);
  const offset = field(fc.nat({ max: 50 }).map(String));
  const record = (value: Arbitrary<string>): Arbitrary<string> =>
    field(
      fc.array(fc.tuple(channel, value), { maxLength: 3 }).map((e) => `{${e.map(([c, v]) => `${c}:${v}`).join(',')}}`),
    );
  let valid: Arbitrary<string>;
  if (route === '/v1/publish') {
    valid = objectText(
      {
        channel,
        type: field(fc.constantFrom('t', 'chat').map(text)),
        data: jsonText,
        id: field(fc.uuid().map(text)),
        ttl: field(fc.integer({ min: 60_000, max: 3_600_000 }).map(String)),
        critical: field(fc.boolean().map(String)),
        collapseKey: field(hostileString.map(text)),
        tenant: field(fc.constantFrom('default', 'other', '*', '__proto__').map(text)),
      },
      ['id', 'ttl', 'critical', 'collapseKey', 'tenant'],
    );
  } else if (route === '/v1/poll') {
    const position = field(
      fc.oneof(fc.constant('null'), objectText({ offset, epoch: field(hostileString.map(text)) }, ['epoch'])),
    );
    valid = objectText({ positions: record(position), wait: field(hostileNumber) }, ['wait']);
  } else if (route === '/v1/read') {
    valid = objectText({ channel, offset }, []);
  } else {
    valid = objectText({ acks: record(offset), deviceId: field(hostileString.map(text)) }, ['deviceId']);
  }
  return fc.oneof(
    { weight: 6, arbitrary: valid },
    { weight: 1, arbitrary: jsonText },
    { weight: 1, arbitrary: fc.constantFrom('', '{', 'not json', '{"a":1}}', '\u0000') },
  );
}
