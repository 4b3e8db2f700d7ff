/** The private redis-server launcher: free port, kill by PID, restart with and without AOF. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../src/index.js';

const servers: RedisServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function redis(appendonly: boolean): Promise<RedisServer> {
  const server = await startRedis({ appendonly });
  servers.push(server);
  return server;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('startRedis', () => {
  it('starts on a free loopback port (never 6379) and answers commands', async () => {
    const server = await redis(false);
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
    expect(server.port).not.toBe(6379);
    expect(isRunning(server.pid)).toBe(true);
    expect(await server.command('SET', 'k', 'héllo ✓')).toBe('OK');
    expect(await server.command('GET', 'k')).toBe('héllo ✓');
    expect(await server.command('CONFIG', 'GET', 'appendonly')).toEqual(['appendonly', 'no']);
    await expect(server.command('NOSUCHCOMMAND')).rejects.toThrow(/unknown command/i);
  });

  it('two servers are independent', async () => {
    const [one, two] = await Promise.all([redis(false), redis(false)]);
    expect(one?.port).not.toBe(two?.port);
    await one?.command('SET', 'k', 'one');
    expect(await two?.command('GET', 'k')).toBeNull();
  });

  it('SIGKILL ends it; a restart with AOF keeps the data, on the same port', async () => {
    const server = await redis(true);
    await server.command('SET', 'kept', '1');
    await server.command('RPUSH', 'list', 'a', 'b');
    const firstPid = server.pid;
    await server.kill();
    expect(isRunning(firstPid)).toBe(false);
    await expect(server.command('PING')).rejects.toThrow();
    await server.restart();
    expect(server.pid).not.toBe(firstPid);
    expect(await server.command('GET', 'kept')).toBe('1');
    expect(await server.command('LRANGE', 'list', 0, -1)).toEqual(['a', 'b']);
  });

  it('a restart without persistence loses the data', async () => {
    const server = await redis(false);
    await server.command('SET', 'lost', '1');
    await server.restart();
    expect(await server.command('PING')).toBe('PONG');
    expect(await server.command('GET', 'lost')).toBeNull();
  });

  it('dies with the process that started it (a test worker killed by a signal leaks nothing)', async () => {
    const standIn = spawn('sleep', ['30'], { stdio: 'ignore' });
    const server = await startRedis({ watchPid: standIn.pid });
    servers.push(server);
    const { pid, dir } = server;
    standIn.kill('SIGKILL');
    const deadline = Date.now() + 3000;
    while ((isRunning(pid) || existsSync(dir)) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(isRunning(pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });

  it('stop kills the process and removes its temp dir', async () => {
    const server = await startRedis();
    const { pid, dir } = server;
    expect(existsSync(dir)).toBe(true);
    await server.stop();
    await server.stop();
    expect(isRunning(pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });
});
