/**
 * The ride-hailing backend: the Nest app (app.module.ts) on the Express platform, Tether mounted on
 * Nest's own HTTP server by TetherModule, listening on 127.0.0.1 (port 0: a free one).
 */
import 'reflect-metadata';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigService } from '@nestjs/config';
import { ExpressAdapter } from '@nestjs/platform-express';
import { TetherService } from '@tether/nestjs';
import { issueToken } from '@tether/server';
import { appModule } from './app.module.js';
import type { RideHailingSettings } from './settings.js';

export interface Backend {
  app: INestApplication;
  url: string;
  port: number;
  tether: TetherService;
  /** A driver's token, as the app's login would issue it (the inbox `user:<driverId>` is always its own). */
  driverToken(driverId: string): Promise<string>;
  /** Nest closes, and Tether with it (gracefully). */
  close(): Promise<void>;
}

export async function startBackend(overrides: Partial<RideHailingSettings> = {}, port = 0): Promise<Backend> {
  const app = await NestFactory.create(appModule(overrides), new ExpressAdapter(), { logger: ['warn', 'error'] });
  await app.listen(port, '127.0.0.1');
  const bound = ((app.getHttpServer() as http.Server).address() as AddressInfo).port;
  const secret = app.get(ConfigService<RideHailingSettings, true>).get('jwtSecret', { infer: true });
  return {
    app,
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    tether: app.get(TetherService),
    driverToken: (driverId) => issueToken({ sub: driverId, channels: [], secret }),
    close: () => app.close(),
  };
}
