import { Module } from '@nestjs/common';
import { ConfigurableTetherModule } from './module-definition.js';
import { TetherService } from './tether.service.js';
import { TetherHealthIndicator } from './health.indicator.js';

/**
 * `TetherModule.forRoot(options)` or `TetherModule.forRootAsync({ imports, inject, useFactory })`;
 * `isGlobal: true` makes `TetherService` and `TetherHealthIndicator` injectable everywhere.
 */
@Module({
  providers: [TetherService, TetherHealthIndicator],
  exports: [TetherService, TetherHealthIndicator],
})
export class TetherModule extends ConfigurableTetherModule {}
