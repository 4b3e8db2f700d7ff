import { BadRequestException, Body, Controller, Get, Inject, Param, Post } from '@nestjs/common';
import type { PublishResult } from '@tether/server';
import { TripsService, type DriverView } from './trips.service.js';

/** The routes the rider simulator calls (the other side of the market), and dispatch's view of a driver. */
@Controller()
export class TripsController {
  constructor(@Inject(TripsService) private readonly trips: TripsService) {}

  @Post('trips')
  offer(@Body() body: unknown): Promise<PublishResult> {
    return this.trips.offer(text(body, 'tripId'), text(body, 'driverId'));
  }

  @Post('trips/cancel')
  cancel(@Body() body: unknown): Promise<PublishResult> {
    return this.trips.cancel(text(body, 'tripId'), text(body, 'driverId'));
  }

  @Post('trips/taken')
  taken(@Body() body: unknown): Promise<PublishResult> {
    return this.trips.takenByAnother(text(body, 'tripId'), text(body, 'driverId'));
  }

  @Post('trips/withdraw')
  withdraw(@Body() body: unknown): { tripId: string; state: 'withdrawn' } {
    return this.trips.withdraw(text(body, 'tripId'));
  }

  @Post('riders/location')
  riderMoved(@Body() body: unknown): Promise<PublishResult> {
    const n = field(body, 'n');
    if (typeof n !== 'number') throw new BadRequestException('n must be a number');
    return this.trips.riderMoved(text(body, 'riderId'), n, text(body, 'driverId'));
  }

  @Get('drivers/:driverId')
  driver(@Param('driverId') driverId: string): Promise<DriverView> {
    return this.trips.driverView(driverId);
  }
}

const field = (body: unknown, key: string): unknown =>
  typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[key] : undefined;

function text(body: unknown, key: string): string {
  const value = field(body, key);
  if (typeof value !== 'string' || value === '') throw new BadRequestException(`${key} must be a non-empty string`);
  return value;
}
