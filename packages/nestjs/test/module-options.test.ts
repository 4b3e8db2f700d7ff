import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Inject, Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { TetherModule, TetherService } from '@tether/nestjs';

const options = { jwtSecret: randomBytes(32).toString('base64url'), logger: false } as const;

/** A feature module that injects TetherService without importing TetherModule itself. */
@Injectable()
class Notifier {
  constructor(@Inject(TetherService) readonly tether: TetherService) {}
}

@Module({ providers: [Notifier], exports: [Notifier] })
class FeatureModule {}

describe('TetherModule.forRoot', () => {
  const opened: INestApplicationContext[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((app) => app.close()));
  });

  it('isGlobal: true makes TetherService injectable in every module, and it publishes', async () => {
    @Module({ imports: [TetherModule.forRoot({ ...options, isGlobal: true }), FeatureModule] })
    class GlobalRoot {}
    const app = await NestFactory.create(GlobalRoot, new ExpressAdapter(), { logger: false });
    opened.push(app);
    await app.init();
    const notifier = app.get(Notifier);
    const first = await notifier.tether.publish({ channel: 'news:a', type: 'news', data: 1 });
    const [second] = await notifier.tether.publishMany([{ channel: 'news:a', type: 'news', data: 2 }]);
    expect(second?.offset).toBe(first.offset + 1);
    expect(await notifier.tether.ready()).toBe(true);
    expect(notifier.tether.server.nodeId).toBeUndefined(); // a single node
  });

  it('without isGlobal, a module that does not import TetherModule cannot inject it', async () => {
    @Module({ imports: [TetherModule.forRoot(options), FeatureModule] })
    class LocalRoot {}
    await expect(
      NestFactory.create(LocalRoot, new ExpressAdapter(), { logger: false, abortOnError: false }),
    ).rejects.toThrow(/TetherService/);
  });

  it('an application context without HTTP is refused with a clear error', async () => {
    @Module({ imports: [TetherModule.forRoot(options)] })
    class NoHttpRoot {}
    await expect(
      NestFactory.createApplicationContext(NoHttpRoot, { logger: false, abortOnError: false }),
    ).rejects.toThrow(/needs an HTTP application/);
  });

  it('TetherService used before the module started says so', async () => {
    @Module({ imports: [TetherModule.forRoot(options)] })
    class NotStartedRoot {}
    const app = await NestFactory.create(NotStartedRoot, new ExpressAdapter(), { logger: false });
    const tether = app.get(TetherService); // created, but init() (onModuleInit) has not run
    expect(() => tether.stats()).toThrow(/has not started yet/);
    expect(await tether.ready()).toBe(false);
    await app.close();
  });
});
