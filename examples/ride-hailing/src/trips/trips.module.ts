import { Module } from '@nestjs/common';
import { DispatchModule } from '../dispatch/dispatch.module.js';
import { TripsController } from './trips.controller.js';
import { TripsService } from './trips.service.js';

/** Trips: the routes and the service that publishes through TetherService (global: TetherModule's `isGlobal`). */
@Module({ imports: [DispatchModule], controllers: [TripsController], providers: [TripsService] })
export class TripsModule {}
