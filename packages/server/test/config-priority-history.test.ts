/**
 * The two settings of priority and history (`limits.priorityLookahead`, `limits.maxHistoryLimit`,
 * docs/operations.md §1): read from the config file into server options, written by genconfig with
 * their defaults, refused when not positive.
 */
import { describe, expect, it } from 'vitest';
import { defaults } from '@tether/server';
import { parseConfig } from '../src/config/load.js';
import { fileSettingsOf } from '../src/config/to-options.js';
import { generateConfig } from '../src/config/generate.js';
import { resolveOptions } from '../src/resolve-options.js';

describe('priorityLookahead and maxHistoryLimit', () => {
  it('come from the file as top-level server options', () => {
    const config = parseConfig(JSON.stringify({ limits: { priorityLookahead: 7, maxHistoryLimit: 20 } }), 'x.json');
    const { options } = fileSettingsOf(config);
    expect(options).toMatchObject({ priorityLookahead: 7, maxHistoryLimit: 20 });
    expect(options.limits).toBeUndefined();
  });

  it('genconfig writes the defaults, 100 and 100', () => {
    const generated = JSON.parse(generateConfig()) as { limits: Record<string, unknown> };
    expect(generated.limits).toMatchObject({ priorityLookahead: 100, maxHistoryLimit: 100 });
    expect(defaults).toMatchObject({ priorityLookahead: 100, maxHistoryLimit: 100 });
  });

  it('a value that is not a positive whole number is refused, in the file and in options', () => {
    expect(() => parseConfig(JSON.stringify({ limits: { maxHistoryLimit: 0 } }), 'x.json')).toThrow(/maxHistoryLimit/);
    expect(() => resolveOptions({ jwtSecret: 'x'.repeat(32), priorityLookahead: 0 })).toThrow(TypeError);
    expect(() => resolveOptions({ jwtSecret: 'x'.repeat(32), maxHistoryLimit: 1.5 })).toThrow(/maxHistoryLimit/);
  });
});
