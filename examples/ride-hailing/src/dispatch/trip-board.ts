import { Injectable } from '@nestjs/common';

/** `withdrawn`: dispatch pulled the offer (the rider's payment failed) without telling the driver. */
export type TripState = 'open' | 'cancelled' | 'taken' | 'withdrawn';

/**
 * The dispatch system's own view of each trip. Tether asks it (the `isRelevant` hook of
 * `trip:requested`) before it replays, redelivers or pushes an offer: one that is no longer open
 * here is dropped, whatever the log says.
 */
@Injectable()
export class TripBoard {
  private readonly trips = new Map<string, TripState>();

  set(tripId: string, state: TripState): void {
    this.trips.set(tripId, state);
  }

  isOpen(tripId: string): boolean {
    return this.trips.get(tripId) === 'open';
  }
}
