import { Inject, Injectable } from '@nestjs/common';
import { TetherService } from '@tether/nestjs';
import type { PublishResult, UserPresenceResponse } from '@tether/server';
import { TripBoard } from '../dispatch/trip-board.js';
import { tripIdOf } from '../rules.js';

/** What dispatch sees of a driver: Tether's presence of the driver, and the offers open in its inbox. */
export interface DriverView {
  presence: UserPresenceResponse;
  openOffers: string[];
}

/**
 * The trips, as the backend runs them: the board is updated, then the driver's inbox (`user:<id>`)
 * gets the event through the injected TetherService. An offer is critical: a driver who does not
 * ack it within 10 s, or has no live connection, gets it as a push.
 */
@Injectable()
export class TripsService {
  constructor(
    @Inject(TetherService) private readonly tether: TetherService,
    @Inject(TripBoard) private readonly board: TripBoard,
  ) {}

  offer(tripId: string, driverId: string): Promise<PublishResult> {
    this.board.set(tripId, 'open');
    return this.toDriver(driverId, 'trip:requested', { tripId }, true);
  }

  cancel(tripId: string, driverId: string): Promise<PublishResult> {
    this.board.set(tripId, 'cancelled');
    return this.toDriver(driverId, 'trip:cancelled', { tripId });
  }

  takenByAnother(tripId: string, driverId: string): Promise<PublishResult> {
    this.board.set(tripId, 'taken');
    return this.toDriver(driverId, 'trip:taken', { tripId });
  }

  /** Dispatch pulls the offer (the rider's payment failed): the board only, no event to the driver. */
  withdraw(tripId: string): { tripId: string; state: 'withdrawn' } {
    this.board.set(tripId, 'withdrawn');
    return { tripId, state: 'withdrawn' };
  }

  riderMoved(riderId: string, n: number, driverId: string): Promise<PublishResult> {
    return this.toDriver(driverId, 'rider:location', { riderId, n });
  }

  /** The driver's presence, and its inbox's offers still open (history, `relevant`: what the rules keep). */
  async driverView(driverId: string): Promise<DriverView> {
    const [presence, page] = await Promise.all([
      this.tether.userPresence(driverId),
      this.tether.history(inboxOf(driverId), { relevant: true }),
    ]);
    const openOffers = page.messages
      .filter((message) => message.type === 'trip:requested' && this.board.isOpen(tripIdOf(message.data)))
      .map((message) => tripIdOf(message.data))
      .reverse(); // oldest first
    return { presence, openOffers };
  }

  private toDriver(driverId: string, type: string, data: object, critical = false): Promise<PublishResult> {
    return this.tether.publish({ channel: inboxOf(driverId), type, data, ...(critical && { critical }) });
  }
}

const inboxOf = (driverId: string): string => `user:${driverId}`;
