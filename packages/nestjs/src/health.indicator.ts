import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { TetherService } from './tether.service.js';

/**
 * A `@nestjs/terminus` indicator: `up` when Tether's store answers (`server.ready()`), `down`
 * otherwise (a store that is down, a server not started or closed).
 */
@Injectable()
export class TetherHealthIndicator {
  // Stateless helper from terminus; made here so that the app need not import TerminusModule first.
  private readonly indicators = new HealthIndicatorService();

  constructor(@Inject(TetherService) private readonly tether: TetherService) {}

  async isHealthy<const Key extends string = 'tether'>(
    key: Key = 'tether' as Key,
  ): Promise<HealthIndicatorResult<Key>> {
    const session = this.indicators.check(key);
    return (await this.tether.ready()) ? session.up() : session.down({ message: 'store not answering' });
  }
}
