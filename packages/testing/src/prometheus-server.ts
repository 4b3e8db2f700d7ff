/**
 * A private Prometheus server for tests (Debian's `/usr/bin/prometheus`): its own temp config and
 * data dir, on a free loopback port, scraping one target every second; `query` answers PromQL over
 * its HTTP API. Never a system Prometheus.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { waitUntil } from './wait.js';

export const PROMETHEUS_BIN = '/usr/bin/prometheus';

export interface ScrapeTarget {
  /** `127.0.0.1:PORT` of the server to scrape. */
  address: string;
  /** Default `/metrics`. */
  metricsPath?: string;
  /** Sent as `Authorization: Bearer <token>` (an admin key). */
  bearerToken?: string;
}

export interface StartPrometheusOptions {
  target: ScrapeTarget;
  /** Default `1s`. */
  scrapeInterval?: string;
  /** Deadline for `/-/ready`. Default 30_000 (a loaded box starts it slowly). */
  startTimeoutMs?: number;
}

/** One sample of an instant vector: its labels and value. */
export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

export interface PrometheusServer {
  url: string;
  readonly pid: number;
  /** An instant query (`/api/v1/query`); rejects on a PromQL error. */
  query(promql: string): Promise<PromSample[]>;
  /** The scrape target's health as Prometheus sees it (`up`, `down`, `unknown`) and its last error. */
  targetHealth(): Promise<{ health: string; lastError: string } | undefined>;
  /** Kills the process (by PID) and removes its dir. Idempotent. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHooked = false;

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.once('exit', () => {
    for (const child of live) if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  });
}

function configYaml(target: ScrapeTarget, interval: string): string {
  const lines = [
    'global:',
    `  scrape_interval: ${interval}`,
    `  evaluation_interval: ${interval}`,
    'scrape_configs:',
    '  - job_name: tether',
    `    metrics_path: ${JSON.stringify(target.metricsPath ?? '/metrics')}`,
    '    static_configs:',
    `      - targets: [${JSON.stringify(target.address)}]`,
  ];
  if (target.bearerToken !== undefined) {
    lines.push('    authorization:', '      type: Bearer', `      credentials: ${JSON.stringify(target.bearerToken)}`);
  }
  return `${lines.join('\n')}\n`;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startPrometheus(options: StartPrometheusOptions): Promise<PrometheusServer> {
  hookExit();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tether-prometheus-'));
  const configFile = path.join(dir, 'prometheus.yml');
  writeFileSync(configFile, configYaml(options.target, options.scrapeInterval ?? '1s'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  live.add(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    live.delete(child);
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      process.kill(child.pid, 'SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const api = async <T>(pathAndQuery: string): Promise<T> => {
    const response = await fetch(url + pathAndQuery);
    const body = (await response.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${pathAndQuery}: ${body.error ?? response.status}`);
    return body.data;
  };
  try {
    await waitUntil(
      async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}): ${stderr}`);
        const ready = await fetch(`${url}/-/ready`).then(
          (r) => r.ok,
          () => false,
        );
        return ready || undefined;
      },
      options.startTimeoutMs ?? 30_000,
      'prometheus ready',
      100,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url,
    get pid() {
      return child.pid ?? -1;
    },
    async query(promql) {
      const data = await api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(
        `/api/v1/query?query=${encodeURIComponent(promql)}`,
      );
      return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    async targetHealth() {
      const data = await api<{ activeTargets: { health: string; lastError: string }[] }>('/api/v1/targets');
      const target = data.activeTargets[0];
      return target && { health: target.health, lastError: target.lastError };
    },
    stop,
  };
}
