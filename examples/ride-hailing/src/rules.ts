import type { RelevanceRules } from '@tether/server';
import type { TripBoard } from './dispatch/trip-board.js';

/**
 * The relevance rules, with "a second" lasting `unitMs` (1000 for real time; less to play it
 * faster). `board` is the injected TripBoard: an offer of a trip it no longer has open is dropped
 * on replay, redelivery and before a push.
 */
export function rideHailingRules(unitMs: number, board: TripBoard): RelevanceRules {
  return {
    // An offer stays open until a cancellation or a take OF THE SAME TRIP (scope: data.tripId)…
    'trip:requested': {
      supersededBy: ['trip:cancelled', 'trip:taken'],
      scope: 'tripId',
      // …and while the dispatch board still has the trip open.
      isRelevant: (message) => board.isOpen(tripIdOf(message.data)),
    },
    // "Someone else took it" only matters while the offer could still be on screen.
    'trip:taken': { ttl: 5 * unitMs },
    // A rider's location is worth 8 s, and only the latest one per rider.
    'rider:location': { ttl: 8 * unitMs, collapseKey: 'riderId' },
  };
}

export function tripIdOf(data: unknown): string {
  const tripId = typeof data === 'object' && data !== null ? (data as { tripId?: unknown }).tripId : undefined;
  return typeof tripId === 'string' ? tripId : '';
}
