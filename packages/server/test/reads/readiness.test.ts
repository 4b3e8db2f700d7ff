/**
 * Honest readiness (issue 7, point 9): `/readyz` is 503 `store_unavailable` while the SQLite store
 * cannot write — a full disk (a file-size limit on the server process: Node ignores SIGXFSZ, so
 * writes fail with EFBIG, which SQLite reports as SQLITE_IOERR_WRITE), a deleted or replaced data
 * file — publishes are refused with `store_unavailable` meanwhile, and it recovers by itself.
 * Redis down → 503 is covered in cluster.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TestBed, startServerProcess, waitUntil, type ServerProcess } from '@tether/testing';
import { TetherError, type PollResponse, type Envelope } from '@tether/protocol';

/** What the SQLite files may grow to: room for the schema and a few dozen 30 KB messages. */
const FILE_SIZE_LIMIT = 1_500_000;

let proc: ServerProcess | undefined;
const bed = new TestBed();
const dirs: string[] = [];
afterEach(async () => {
  await proc?.stop();
  proc = undefined;
  await bed.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function get(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}

async function post(url: string, token: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

const NOT_READY = { status: 503, body: { error: { code: 'store_unavailable' } } };

describe('/readyz with a full disk (file-size limit on the server process)', () => {
  it('goes 503 store_unavailable when writes fail, refuses publishes, and returns to 200 by itself; nothing accepted is lost', async () => {
    proc = await startServerProcess({ wrapper: ['prlimit', `--fsize=${FILE_SIZE_LIMIT}:unlimited`] });
    const server = proc;
    expect((await get(`${server.url}/readyz`)).status).toBe(200);
    const publish = (n: number) =>
      post(`${server.url}/v1/publish`, server.apiKey, {
        channel: 'c:disk',
        type: 't',
        id: `m${n}`,
        data: { n, pad: 'x'.repeat(30_000) },
      });

    // The limit is per file: a refused write may be followed by a background checkpoint that moves
    // the log into the data file and lets the log start over. The disk is full once both files are:
    // a refusal that stays after a checkpoint's interval (1 s) has passed.
    const accepted: { id: string; offset: number }[] = [];
    let refused: { status: number; body: unknown } | undefined;
    let refusedInARow = 0;
    for (let n = 0; n < 400 && refusedInARow < 2; n++) {
      const answer = await publish(n);
      if (answer.status === 200) {
        accepted.push({ id: `m${n}`, offset: (answer.body as { offset: number }).offset });
        refusedInARow = 0;
      } else {
        refused = answer;
        refusedInARow++;
        await new Promise((resolve) => setTimeout(resolve, 1500));
      }
    }
    expect(refused).toMatchObject(NOT_READY);
    expect(refusedInARow).toBe(2);
    expect(accepted.length).toBeGreaterThan(5);
    // Not ready at once (the failed write), and still after the probe's interval: the disk stays full.
    expect(await get(`${server.url}/readyz`)).toMatchObject(NOT_READY);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(await get(`${server.url}/readyz`)).toMatchObject(NOT_READY);
    expect(await publish(1000)).toMatchObject(NOT_READY);

    // Room again: lift the limit on the running process (raising the soft limit needs no privilege).
    execFileSync('prlimit', ['--pid', String(server.pid), '--fsize=unlimited:unlimited']);
    await waitUntil(async () => ((await get(`${server.url}/readyz`)).status === 200 ? true : undefined), 5000, 'ready');
    const after = await publish(2000);
    expect(after.status).toBe(200);
    accepted.push({ id: 'm2000', offset: (after.body as { offset: number }).offset });

    // Every accepted publish is in the log, in order, and nothing else (gap-free offsets 1…N).
    const token = await server.token({ sub: 'reader', channels: ['c:*'] });
    const read: Envelope[] = [];
    let position = { offset: 0 } as { epoch?: string; offset: number };
    for (let round = 0; round < 20; round++) {
      const answer = await post(`${server.url}/v1/poll`, token, { positions: { 'c:disk': position } });
      const entry = (answer.body as PollResponse).channels['c:disk'];
      if (!entry || 'resync' in entry) throw new Error(`poll answered ${JSON.stringify(answer.body)}`);
      read.push(...entry.messages);
      if (entry.upTo === position.offset) break;
      position = { epoch: entry.epoch, offset: entry.upTo };
    }
    expect(read.map((m) => ({ id: m.id, offset: m.offset }))).toEqual(accepted);
    expect(accepted.map((a) => a.offset)).toEqual(accepted.map((_, i) => i + 1));
  });
});

describe('/readyz with a deleted, moved or replaced data file', () => {
  async function sqliteServer(): Promise<{ dir: string; file: string }> {
    const dir = mkdtempSync(join(tmpdir(), 'tether-ready-'));
    dirs.push(dir);
    const file = join(dir, 'data', 'tether.db');
    await bed.start({ store: `sqlite:${file}` });
    await bed.server.server.publish({ channel: 'c:1', type: 't', data: 1 });
    expect((await get(`${bed.server.url}/readyz`)).status).toBe(200);
    return { dir, file };
  }

  async function expectRefused(): Promise<void> {
    expect(await get(`${bed.server.url}/readyz`)).toMatchObject(NOT_READY);
    const err: unknown = await bed.server.server.publish({ channel: 'c:1', type: 't', data: 2 }).catch((e) => e);
    expect(err).toBeInstanceOf(TetherError);
    expect(err).toMatchObject({ code: 'store_unavailable' });
  }

  it('a deleted data dir: 503 and publishes refused (never written into the deleted file)', async () => {
    const { dir } = await sqliteServer();
    rmSync(join(dir, 'data'), { recursive: true, force: true });
    await expectRefused();
    await expectRefused(); // stays so: the store does not quietly start a new file
  });

  it('a data dir moved away and back: 503 meanwhile, 200 again by itself', async () => {
    const { dir } = await sqliteServer();
    renameSync(join(dir, 'data'), join(dir, 'moved'));
    await expectRefused();
    renameSync(join(dir, 'moved'), join(dir, 'data'));
    await waitUntil(
      async () => ((await get(`${bed.server.url}/readyz`)).status === 200 ? true : undefined),
      3000,
      'ready',
    );
    expect(await bed.server.server.publish({ channel: 'c:1', type: 't', data: 3 })).toMatchObject({ offset: 2 });
  });

  it('a data file replaced by another file (a copy): 503 and publishes refused', async () => {
    const { file } = await sqliteServer();
    copyFileSync(file, `${file}.copy`);
    unlinkSync(file);
    renameSync(`${file}.copy`, file);
    await expectRefused();
  });
});
