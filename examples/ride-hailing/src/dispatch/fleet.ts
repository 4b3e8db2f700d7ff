import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { RideHailingSettings } from '../settings.js';

/** The drivers on duty (from the settings). Tether's `authorize` asks it: only they may open their inbox. */
@Injectable()
export class Fleet {
  private readonly onDuty: ReadonlySet<string>;

  constructor(@Inject(ConfigService) config: ConfigService<RideHailingSettings, true>) {
    this.onDuty = new Set(config.get('drivers', { infer: true }));
  }

  isOnDuty(driverId: string): boolean {
    return this.onDuty.has(driverId);
  }
}
