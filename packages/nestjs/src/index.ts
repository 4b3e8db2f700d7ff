/** @tether/nestjs: Tether as a NestJS module on Nest's own HTTP server (Express or Fastify). */
import 'reflect-metadata';

export { TetherModule } from './tether.module.js';
export { TetherService } from './tether.service.js';
export { TetherHealthIndicator } from './health.indicator.js';
export {
  TETHER_MODULE_OPTIONS,
  type TetherModuleOptions,
  type TetherModuleRootOptions,
  type TetherModuleAsyncOptions,
} from './module-definition.js';
