/** The presence options: the config file's `presence` section and the library option's checks. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTetherServer } from '@tether/server';
import { checkConfigFile } from '../../src/config/check.js';
import { generateConfig } from '../../src/config/generate.js';
import { presenceModeOf, resolvePresenceOptions } from '../../src/presence/presence-options.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tether-presence-config-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function fileWith(config: unknown): string {
  const file = join(dir, 'tether.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

describe('config: presence', () => {
  it('maps the section onto the presence option', () => {
    const presence = {
      channels: [{ pattern: 'room:*' }, { pattern: 'live:*', mode: 'counts' }],
      graceMs: 5000,
      batchMs: 25,
      batchMsPerMember: 0.5,
      maxBatchMs: 1000,
      countsIntervalMs: 2000,
      lastActiveThrottleMs: 30_000,
    };
    expect(checkConfigFile(fileWith({ presence })).options.presence).toEqual(presence);
    expect(checkConfigFile(fileWith({ presence: {} })).options.presence).toEqual({});
  });

  it('reports bad values and unknown keys with the field', () => {
    expect(() => checkConfigFile(fileWith({ presence: { graceMs: -1 } }))).toThrow(/presence\.graceMs/);
    expect(() => checkConfigFile(fileWith({ presence: { graceMS: 1 } }))).toThrow(/presence\.graceMS: unknown key/);
    expect(() => checkConfigFile(fileWith({ presence: { channels: [{ pattern: 'x', mode: 'all' }] } }))).toThrow(
      /presence\.channels\[0\]\.mode/,
    );
    expect(() => checkConfigFile(fileWith({ presence: { channels: [{ pattern: '' }] } }))).toThrow(
      /presence\.channels\[0\]\.pattern/,
    );
  });

  it('genconfig leaves presence off', () => {
    const file = join(dir, 'generated.json');
    writeFileSync(file, generateConfig());
    expect(checkConfigFile(file).options.presence).toBeUndefined();
  });
});

describe('the presence option', () => {
  it('is off unless given; defaults fill what is not', () => {
    expect(resolvePresenceOptions(undefined)).toBeUndefined();
    expect(resolvePresenceOptions({})).toMatchObject({
      channels: [],
      graceMs: 10_000,
      batchMs: 50,
      batchMsPerMember: 0.2,
      maxBatchMs: 2000,
      countsIntervalMs: 1000,
      lastActiveThrottleMs: 60_000,
    });
  });

  it('first matching rule wins; mode defaults to members', () => {
    const options = resolvePresenceOptions({
      channels: [{ pattern: 'room:big*', mode: 'counts' }, { pattern: 'room:*' }],
    })!;
    expect(presenceModeOf(options, 'room:big-1')).toBe('counts');
    expect(presenceModeOf(options, 'room:7')).toBe('members');
    expect(presenceModeOf(options, 'chat:7')).toBeUndefined();
  });

  it('a nonsense option fails the server’s start with a TypeError naming it', async () => {
    const start = (presence: unknown): Promise<unknown> =>
      createTetherServer({ jwtSecret: 'x'.repeat(32), logger: false, presence: presence as never });
    await expect(start({ graceMs: -5 })).rejects.toThrow(/presence\.graceMs/);
    await expect(start({ batchMsPerMember: Number.NaN })).rejects.toThrow(/presence\.batchMsPerMember/);
    await expect(start({ channels: [{ pattern: 'room:*', mode: 'everyone' }] })).rejects.toThrow(
      /presence\.channels\[0\]\.mode/,
    );
    await expect(start({ onLastActive: 'yes' })).rejects.toThrow(/presence\.onLastActive/);
  });
});
