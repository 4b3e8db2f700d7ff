/**
 * The runnable example `examples/ride-hailing` (public entry points, built packages): its one
 * command plays both outages, sped up, and exits 0 only when the driver got exactly the relevant
 * events, once.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const run = fileURLToPath(new URL('../../../examples/ride-hailing/run.js', import.meta.url));

function play(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [run, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, out: stdout + stderr });
    });
  });
}

describe('examples/ride-hailing', () => {
  it('plays the dropped and the frozen outage, 10× faster: exactly the relevant events, once', async () => {
    const { code, out } = await play(['--speed', '10']);
    if (code !== 0) console.error(out);
    expect(out).toContain(
      'driver got after the outage: ["trip:requested T2","trip:cancelled T1","rider:location R1#4"]',
    );
    expect(out.match(/OK: exactly the relevant events, once/g)).toHaveLength(2);
    // The critical open offer reached the push webhook once per outage, signed; T1 (acked) never.
    expect(out.match(/OK: the open offer T2 pushed once, T1 never/g)).toHaveLength(2);
    expect(out).toMatch(/push {8}-> driver-7: trip:requested T2 \((offline|unacked); signature ok\)/);
    expect(out).not.toContain('trip:requested T1 (');
    expect(code).toBe(0);
  }, 60_000);

  it('refuses a bad flag with its usage (exit 2)', async () => {
    const { code, out } = await play(['--mode', 'sideways']);
    expect(code).toBe(2);
    expect(out).toContain('usage: run.js');
  });
});
