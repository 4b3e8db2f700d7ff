/**
 * The Nest app the tests boot: config from @nestjs/config, Tether by `forRootAsync` with an
 * `authorize` over an injected provider, a controller that publishes through `TetherService`, and a
 * terminus `/health`. Every injection names its token: the test transform emits no decorator metadata.
 */
import type { AddressInfo } from 'node:net';
import type http from 'node:http';
import { Body, Controller, Get, Inject, Injectable, Module, Post, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { TetherHealthIndicator, TetherModule, TetherService, type TetherModuleOptions } from '@tether/nestjs';

export type Platform = 'express' | 'fastify';

/** The app's own rules, changed at run time by the tests: channels closed to subscribers, withdrawn offers. */
@Injectable()
export class ChannelPolicy {
  private readonly closed = new Set<string>();
  private readonly withdrawn = new Set<string>();

  withdraw(offerId: string): void {
    this.withdrawn.add(offerId);
  }

  isCurrent(offerId: string): boolean {
    return !this.withdrawn.has(offerId);
  }

  close(channel: string): void {
    this.closed.add(channel);
  }

  isOpen(channel: string): boolean {
    return !this.closed.has(channel);
  }
}

@Module({ providers: [ChannelPolicy], exports: [ChannelPolicy] })
class PolicyModule {}

@Controller('news')
class NewsController {
  constructor(@Inject(TetherService) private readonly tether: TetherService) {}

  @Post()
  publish(@Body() body: { channel: string; text: string }): Promise<{ offset: number }> {
    return this.tether.publish({ channel: body.channel, type: 'news', data: { text: body.text } });
  }
}

@Controller('health')
class HealthController {
  constructor(
    @Inject(HealthCheckService) private readonly health: HealthCheckService,
    @Inject(TetherHealthIndicator) private readonly tether: TetherHealthIndicator,
  ) {}

  @Get()
  check(): Promise<unknown> {
    return this.health.check([() => this.tether.isHealthy()]);
  }
}

export interface TestAppConfig {
  TETHER_STORE: string;
  TETHER_JWT_SECRET: string;
}

export function appModule(config: TestAppConfig): new () => object {
  @Module({
    imports: [
      ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: [() => config] }),
      PolicyModule,
      TetherModule.forRootAsync({
        imports: [PolicyModule],
        inject: [ConfigService, ChannelPolicy],
        useFactory: (settings: ConfigService<TestAppConfig, true>, policy: ChannelPolicy): TetherModuleOptions => ({
          store: settings.get('TETHER_STORE'),
          jwtSecret: settings.get('TETHER_JWT_SECRET'),
          logger: false,
          // A closure over the injected provider: the policy's state at each subscription counts.
          authorize: (_ctx, channel, action) => action !== 'subscribe' || policy.isOpen(channel),
          relevance: { offer: { isRelevant: (message) => policy.isCurrent(message.id) } },
        }),
      }),
      TerminusModule,
    ],
    controllers: [NewsController, HealthController],
  })
  class AppModule {}
  return AppModule;
}

export interface RunningApp {
  app: INestApplication;
  url: string;
  port: number;
}

/** Boots the app on `platform`, listening on 127.0.0.1 port 0. */
export async function startApp(platform: Platform, config: TestAppConfig): Promise<RunningApp> {
  const adapter = platform === 'express' ? new ExpressAdapter() : new FastifyAdapter();
  const app = await NestFactory.create(appModule(config), adapter, { logger: false });
  await app.listen(0, '127.0.0.1');
  const { port } = (app.getHttpServer() as http.Server).address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}`, port };
}
