/**
 * `listenBacklog` reaches the listening socket: Linux shows a listener's accept-queue limit as its
 * Send-Q in `ss -lnt` (capped at net.core.somaxconn). Node's own default would be 511.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { TestBed } from '@tether/testing';
import { defaults } from '@tether/server';

const bed = new TestBed();
afterEach(() => bed.close());

/** The accept-queue limit of the listener on `port`, as the kernel reports it. */
function backlogOf(port: number): number {
  const lines = execFileSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' })
    .trim()
    .split('\n');
  expect(lines).toHaveLength(1);
  return Number(lines[0]!.trim().split(/\s+/)[2]);
}

const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
const linux = process.platform === 'linux';

describe.runIf(linux)('listen backlog', () => {
  it('listens with listenBacklog', async () => {
    const srv = await bed.start({ listenBacklog: 1234 });
    expect(backlogOf(srv.port)).toBe(Math.min(1234, somaxconn));
  });

  it('defaults to 4096, capped by net.core.somaxconn', async () => {
    expect(defaults.listenBacklog).toBe(4096);
    const srv = await bed.start();
    expect(backlogOf(srv.port)).toBe(Math.min(4096, somaxconn));
  });
});
