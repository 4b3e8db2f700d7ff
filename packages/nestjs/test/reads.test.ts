/**
 * TetherService's reads in a real Nest app: a controller pages a driver's inbox (`history`) and
 * reads a driver's presence and a zone's members or count through the injected service, while a
 * real SDK client is connected. Bad options and a channel without presence reject with their code.
 */
import type { AddressInfo } from 'node:net';
import type http from 'node:http';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Controller, Get, Inject, Module, Param, Query, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { TetherClient } from '@tether/client';
import {
  issueToken,
  type ChannelPresenceResponse,
  type HistoryResponse,
  type UserPresenceResponse,
} from '@tether/server';
import { waitUntil } from '@tether/testing';
import { TetherModule, TetherService } from '@tether/nestjs';

const secret = randomBytes(32).toString('base64url');

@Controller('dispatch')
class DispatchController {
  constructor(@Inject(TetherService) private readonly tether: TetherService) {}

  @Get('offers/:driver')
  offers(@Param('driver') driver: string, @Query('before') before?: string): Promise<HistoryResponse> {
    return this.tether.history(`user:${driver}`, { limit: 2, ...(before ? { before: Number(before) } : {}) });
  }

  @Get('drivers/:sub')
  driver(@Param('sub') sub: string): Promise<UserPresenceResponse> {
    return this.tether.userPresence(sub);
  }

  @Get('zones/:channel')
  zone(@Param('channel') channel: string): Promise<ChannelPresenceResponse> {
    return this.tether.channelPresence(channel);
  }
}

@Module({
  imports: [
    TetherModule.forRoot({
      jwtSecret: secret,
      logger: false,
      maxHistoryLimit: 20,
      presence: { channels: [{ pattern: 'zone:*' }, { pattern: 'city:*', mode: 'counts' }], batchMs: 10 },
    }),
  ],
  controllers: [DispatchController],
})
class DispatchApp {}

describe('TetherService reads in a Nest app', () => {
  let app: INestApplication;
  let url: string;
  let driver: TetherClient;

  beforeAll(async () => {
    app = await NestFactory.create(DispatchApp, new ExpressAdapter(), { logger: false });
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${((app.getHttpServer() as http.Server).address() as AddressInfo).port}`;
    const token = await issueToken({ secret, sub: 'driver-7', channels: ['zone:*', 'city:*'] });
    driver = new TetherClient({ url, token, fallback: { enabled: false } });
    driver.subscribe('zone:north', () => undefined);
    driver.subscribe('city:oslo', () => undefined);
    await driver.connect();
  });
  afterAll(async () => {
    await driver?.close();
    await app?.close();
  });

  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`);
    expect(res.status).toBe(200);
    return (await res.json()) as T;
  };

  it("history pages the driver's inbox newest first through the injected service", async () => {
    const tether = app.get(TetherService);
    for (const tripId of ['T1', 'T2', 'T3'])
      await tether.publish({ channel: 'user:driver-7', type: 'trip:requested', data: { tripId } });
    const first = await get<HistoryResponse>('/dispatch/offers/driver-7');
    expect(first.messages.map((m) => (m.data as { tripId: string }).tripId)).toEqual(['T3', 'T2']);
    expect(first.next).toBe(2);
    const older = await get<HistoryResponse>(`/dispatch/offers/driver-7?before=${first.next}`);
    expect(older.messages.map((m) => (m.data as { tripId: string }).tripId)).toEqual(['T1']);
    expect(older.next).toBeNull();
    expect((await tether.history('user:driver-8')).messages).toEqual([]);
  });

  it("userPresence: the connected driver's status and device; an unknown user offline", async () => {
    const seen = await waitUntil(
      async () => {
        const answer = await get<UserPresenceResponse>('/dispatch/drivers/driver-7');
        return answer.status === 'online' ? answer : undefined;
      },
      10_000,
      'driver-7 online',
    );
    expect(seen.devices).toHaveLength(1);
    expect(typeof seen.lastSeen).toBe('number');
    expect(await app.get(TetherService).userPresence('driver-9')).toEqual({
      sub: 'driver-9',
      status: 'offline',
      devices: [],
      lastSeen: null,
    });
  });

  it("channelPresence: a zone's members, a city's count only", async () => {
    const zone = await waitUntil(
      async () => {
        const answer = await get<ChannelPresenceResponse>('/dispatch/zones/zone:north');
        return answer.count === 1 ? answer : undefined;
      },
      10_000,
      'driver-7 in zone:north',
    );
    expect(zone.members?.map((m) => m.sub)).toEqual(['driver-7']);
    const city = await waitUntil(
      async () => {
        const answer = await app.get(TetherService).channelPresence('city:oslo');
        return answer.count === 1 ? answer : undefined;
      },
      10_000,
      'driver-7 counted in city:oslo',
    );
    expect(city).toEqual({ channel: 'city:oslo', count: 1 });
  });

  it('bad options and a channel without presence reject with their code', async () => {
    const tether = app.get(TetherService);
    await expect(tether.history('user:driver-7', { limit: 21 })).rejects.toMatchObject({ code: 'bad_request' });
    await expect(tether.channelPresence('user:driver-7')).rejects.toMatchObject({ code: 'not_found' });
    await expect(tether.userPresence('')).rejects.toMatchObject({ code: 'bad_request' });
  });
});
