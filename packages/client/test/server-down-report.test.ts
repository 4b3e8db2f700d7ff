/**
 * `reportUrl`: when the SDK decides the server is down, it POSTs `{attempts, lastError, since,
 * deviceId, url}` to the app's own backend (here a local HTTP receiver): once per outage, and a
 * report that fails (refused, unreachable, unanswered past the timeout) never throws nor stops the
 * client from reconnecting.
 */
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TestBed, waitUntil } from '@tether/testing';
import { TetherClient, type ServerDownReport } from '@tether/client';
import { ServerDownReporter, REPORT_TIMEOUT_MS } from '../src/server-down-report.js';
import { Clients, fast } from './helpers.js';

const bed = new TestBed();
const clients = new Clients();
const servers: http.Server[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await clients.closeAll();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
  await bed.close();
});

interface Received {
  body: ServerDownReport;
  contentType: string | undefined;
}

/** The app's backend: records each POST; `answer` picks the status (or `hang` to never answer). */
async function startBackend(
  answer: number | 'hang' = 204,
): Promise<{ url: string; reports: Received[]; aborted: () => number }> {
  const reports: Received[] = [];
  let aborted = 0;
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      reports.push({
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as ServerDownReport,
        contentType: request.headers['content-type'],
      });
      if (answer !== 'hang') response.writeHead(answer).end();
    });
    response.on('close', () => {
      if (!response.writableEnded) aborted++;
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/tether-down`,
    reports,
    aborted: () => aborted,
  };
}

async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('reportUrl', () => {
  it('posts one report per outage with attempts, lastError, since, deviceId and url', async () => {
    const backend = await startBackend();
    const port = await closedPort();
    const helper = await bed.start({ jwtSecret: 'a-test-secret-of-enough-length-1234' });
    const token = await helper.token('u1');
    const startedAt = Date.now();
    const client = clients.make({
      ...fast,
      url: `http://127.0.0.1:${port}`,
      token,
      deviceId: 'device-1',
      reconnect: { initialDelayMs: 20, maxDelayMs: 40 },
      serverDownAfterAttempts: 3,
      reportUrl: backend.url,
    });
    let downs = 0;
    client.on('serverDown', () => downs++);
    void client.connect().catch(() => undefined);
    await waitUntil(() => (backend.reports.length > 0 ? true : undefined), 5000, 'a report');
    await waitUntil(() => (client.metrics().failures >= 8 ? true : undefined), 5000, 'still retrying');
    expect(downs).toBe(1);
    expect(backend.reports).toHaveLength(1);
    const [report] = backend.reports;
    expect(report?.contentType).toBe('application/json');
    expect(report?.body).toEqual({
      attempts: 3,
      lastError: { code: 'unreachable', message: expect.any(String) },
      since: expect.any(Number),
      deviceId: 'device-1',
      url: `http://127.0.0.1:${port}`,
    });
    expect(report!.body.since).toBeGreaterThanOrEqual(startedAt);
    expect(report!.body.since).toBeLessThanOrEqual(Date.now());
  });

  it('a failing report (refused, unreachable) is dropped quietly: serverDown still fires and the client reconnects', async () => {
    const refusing = await startBackend(500);
    for (const reportUrl of [refusing.url, `http://127.0.0.1:${await closedPort()}/down`]) {
      const secret = 'a-test-secret-of-enough-length-1234';
      const helper = await bed.start({ jwtSecret: secret });
      const token = await helper.token('u1');
      await bed.close();
      const port = await closedPort();
      const client = clients.make({
        ...fast,
        url: `http://127.0.0.1:${port}`,
        token,
        reconnect: { initialDelayMs: 20, maxDelayMs: 40 },
        serverDownAfterAttempts: 2,
        reportUrl,
      });
      let downs = 0;
      client.on('serverDown', () => downs++);
      void client.connect();
      await waitUntil(() => (downs > 0 ? true : undefined), 5000, 'serverDown');
      await bed.start({ port, jwtSecret: secret });
      await waitUntil(() => (client.status === 'connected' ? true : undefined), 5000, 'connected');
      await client.close(); // before its server goes: that would be a second outage, reported too
      await bed.close();
    }
    expect(refusing.reports).toHaveLength(1);
  });

  it('an unanswered report is abandoned after the timeout', async () => {
    const backend = await startBackend('hang');
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const debug: string[] = [];
    const logger = { debug: (m: string) => debug.push(m), info: () => {}, warn: () => {}, error: () => {} };
    const reporter = new ServerDownReporter(backend.url, undefined, logger);
    const report: ServerDownReport = {
      attempts: 5,
      lastError: { code: 'unreachable', message: 'x' },
      since: 1,
      deviceId: 'd',
      url: 'http://127.0.0.1:1',
    };
    reporter.report(report);
    reporter.report(report); // the same outage: not sent again
    await vi.waitFor(() => expect(backend.reports).toHaveLength(1), { timeout: 5000, interval: 10 });
    expect(backend.aborted()).toBe(0);
    await vi.advanceTimersByTimeAsync(REPORT_TIMEOUT_MS);
    await vi.waitFor(() => expect(backend.aborted()).toBe(1), { timeout: 5000, interval: 10 });
    await vi.waitFor(() => expect(debug).toContain('serverDown report not sent'), { timeout: 5000, interval: 10 });
    reporter.report({ ...report, since: 2 }); // a new outage is reported again
    await vi.waitFor(() => expect(backend.reports).toHaveLength(2), { timeout: 5000, interval: 10 });
  });

  it('refuses a reportUrl that is neither an http(s) URL nor a path', () => {
    expect(() => new TetherClient({ url: 'http://127.0.0.1:1', token: 't', reportUrl: 'ftp://x' })).toThrow(
      /reportUrl/,
    );
  });
});
