import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { TetherServerOptions } from '@tether/server';

/** The server's options, but for `httpServer`: the module mounts Tether on Nest's own HTTP server. */
export type TetherModuleOptions = Omit<TetherServerOptions, 'httpServer'>;

export const {
  ConfigurableModuleClass: ConfigurableTetherModule,
  MODULE_OPTIONS_TOKEN: TETHER_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<TetherModuleOptions>({ moduleName: 'Tether' })
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: false }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();

/** What `TetherModule.forRoot` takes: the options and `isGlobal` (default false). */
export type TetherModuleRootOptions = typeof OPTIONS_TYPE;
/** What `TetherModule.forRootAsync` takes: `imports`, `inject`, `useFactory` (or `useClass`/`useExisting`), `isGlobal`. */
export type TetherModuleAsyncOptions = typeof ASYNC_OPTIONS_TYPE;
