/**
 * The runnable example `examples/ride-hailing` (the NestJS reference app; public entry points,
 * built packages): its one command (`npm run example:ride-hailing`, which builds it first) plays
 * both outages, sped up, and exits 0 only when the driver got exactly the relevant events, once,
 * the critical offer was pushed once, dispatch's view (TetherService presence and history) is
 * right, and a driver not on duty was refused.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function play(args: string[], timeout: number): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      npm,
      ['run', '--silent', 'example:ride-hailing', '--', ...args],
      { cwd: root, timeout },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, out: stdout + stderr });
      },
    );
  });
}

describe('examples/ride-hailing', () => {
  it('plays the dropped and the frozen outage, 10× faster: exactly the relevant events, once', async () => {
    const { code, out } = await play(['--speed', '10'], 170_000);
    if (code !== 0) console.error(out);
    expect(out).toContain(
      'driver got after the outage: ["trip:requested T2","trip:cancelled T1","rider:location R1#4"]',
    );
    expect(out.match(/OK: exactly the relevant events, once/g)).toHaveLength(2);
    // The critical open offer reached the push webhook once per outage, signed; T1 (acked) never.
    expect(out.match(/OK: the open offer T2 pushed once, T1 never/g)).toHaveLength(2);
    expect(out).toMatch(/push {8}-> driver-7: trip:requested T2 \((offline|unacked); signature ok\)/);
    expect(out).not.toContain('trip:requested T1 (');
    // T4, withdrawn on the board, never reaches the app: the injected TripBoard's isRelevant
    // dropped it (the run's exit code also checks the replay's `irrelevant` drop).
    expect(out).not.toContain('driver app  <- trip:requested T4');
    // Dispatch's view through TetherService: userPresence and history(relevant).
    expect(out.match(/dispatch view of driver-7: online \(1 device\(s\)\); open offers: \["T2"\]/g)).toHaveLength(2);
    // authorize over the injected Fleet.
    expect(out.match(/driver-99 \(not on duty\): inbox refused \(forbidden\)/g)).toHaveLength(2);
    expect(code).toBe(0);
  }, 180_000);

  it('refuses a bad flag with its usage (exit 2)', async () => {
    const { code, out } = await play(['--mode', 'sideways'], 110_000);
    expect(code).toBe(2);
    expect(out).toContain('usage: run.js');
  }, 120_000);
});
