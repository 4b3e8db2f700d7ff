/**
 * The error catalogue check: every code of `ErrorCode` has a section in docs/errors.md with its
 * HTTP status, and the document names no code the enum lacks.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { errorCodes, httpStatusOf, isErrorCode } from '../src/errors.js';

const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');

/** `## \`code\`` headings, each with the text up to the next heading. */
function sections(markdown: string): Map<string, string> {
  const found = new Map<string, string>();
  const parts = markdown.split(/^## /m).slice(1);
  for (const part of parts) {
    const heading = /^`([^`]+)`\s*$/m.exec(part.split('\n')[0] ?? '');
    if (!heading?.[1]) throw new Error(`docs/errors.md: heading '## ${part.split('\n')[0]}' is not a \`code\``);
    if (found.has(heading[1])) throw new Error(`docs/errors.md: '${heading[1]}' is documented twice`);
    found.set(heading[1], part);
  }
  return found;
}

describe('docs/errors.md', () => {
  const documented = sections(doc);

  it('documents every error code', () => {
    const missing = errorCodes.filter((code) => !documented.has(code));
    expect(missing, 'codes without a section in docs/errors.md').toEqual([]);
  });

  it('documents no code that ErrorCode lacks', () => {
    const unknown = [...documented.keys()].filter((code) => !isErrorCode(code));
    expect(unknown, 'sections in docs/errors.md for codes not in ErrorCode').toEqual([]);
  });

  it.each(errorCodes.map((code) => [code]))('%s: gives the HTTP status, when it happens and what to do', (code) => {
    const section = documented.get(code) ?? '';
    const status = /\*\*HTTP status:\*\*\s*(\d{3})/.exec(section)?.[1];
    expect(Number(status), `HTTP status of ${code}`).toBe(httpStatusOf[code]);
    expect(section).toMatch(/\*\*When:\*\*\s*\S/);
    expect(section).toMatch(/\*\*Client:\*\*\s*\S/);
  });
});
