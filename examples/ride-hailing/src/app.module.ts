import { Module, type Type } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { TetherModule, type TetherModuleOptions } from '@tether/nestjs';
import type { PushProvider } from '@tether/server';
import { DispatchModule } from './dispatch/dispatch.module.js';
import { Fleet } from './dispatch/fleet.js';
import { TripBoard } from './dispatch/trip-board.js';
import { PUSH_PROVIDERS, PushModule } from './push.module.js';
import { rideHailingRules } from './rules.js';
import { settingsFrom, type RideHailingSettings } from './settings.js';
import { TripsModule } from './trips/trips.module.js';

/**
 * The app: settings through `@nestjs/config`, Tether by `forRootAsync` (its options built from the
 * settings, the injected TripBoard, Fleet and push providers), and the trips module. `overrides`
 * go over the environment's settings (the run passes the push service it started).
 */
export function appModule(overrides: Partial<RideHailingSettings> = {}): Type {
  @Module({
    imports: [
      ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: [() => settingsFrom(process.env, overrides)] }),
      TetherModule.forRootAsync({
        isGlobal: true,
        imports: [DispatchModule, PushModule],
        inject: [ConfigService, TripBoard, Fleet, PUSH_PROVIDERS],
        useFactory: tetherOptions,
      }),
      TripsModule,
    ],
  })
  class AppModule {}
  return AppModule;
}

function tetherOptions(
  config: ConfigService<RideHailingSettings, true>,
  board: TripBoard,
  fleet: Fleet,
  providers: PushProvider[],
): TetherModuleOptions {
  const unitMs = config.get('unitMs', { infer: true });
  return {
    jwtSecret: config.get('jwtSecret', { infer: true }),
    logger: { level: 'warn' },
    relevance: rideHailingRules(unitMs, board),
    // Closures over injected providers: the fleet decides at each subscription (the inbox's too).
    authorize: (ctx) => fleet.isOnDuty(ctx.sub),
    // User status only (no channel presence): dispatch reads whether a driver is online.
    presence: { graceMs: 2 * unitMs },
    // A critical offer nobody acked within 10 s, or to a driver with no live connection, goes to
    // the app's push service, once.
    ...(providers.length > 0 && {
      push: { providers, ackWithin: 10 * unitMs, pollIntervalMs: Math.max(10, Math.round(unitMs / 2)) },
    }),
  };
}
