/** A push notice for provider tests: a trip offer to driver-7, with what a test overrides. */
import type { PushNotice } from '@tether/server';

export function pushNotice(overrides: Partial<PushNotice> = {}): PushNotice {
  return {
    id: 'm-42',
    tenant: 'acme',
    sub: 'driver-7',
    channel: 'driver:7',
    epoch: 'e1',
    offset: 42,
    type: 'trip:requested',
    data: { tripId: 'T2' },
    priority: 'normal',
    collapseKey: undefined,
    expiresAt: undefined,
    reason: 'offline',
    ...overrides,
  };
}
