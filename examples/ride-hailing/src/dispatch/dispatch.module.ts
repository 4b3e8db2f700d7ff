import { Module } from '@nestjs/common';
import { Fleet } from './fleet.js';
import { TripBoard } from './trip-board.js';

/** The providers Tether's hooks use; imported by `TetherModule.forRootAsync` and by the trips module (one instance each). */
@Module({ providers: [TripBoard, Fleet], exports: [TripBoard, Fleet] })
export class DispatchModule {}
