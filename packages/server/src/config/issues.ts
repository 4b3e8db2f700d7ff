/**
 * Zod's findings as one line per mistake, naming the field's path the way the file spells it
 * (`retention.perChannel[0].maxAgeMs`, `relevance.trip:requested.ttl`), with the closest known key
 * for a misspelt one.
 */
import { z } from 'zod';

type Issue = z.core.$ZodIssue;
type Path = readonly PropertyKey[];

export function formatPath(path: Path): string {
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else text += (text === '' ? '' : '.') + String(part);
  }
  return text === '' ? '(top level)' : text;
}

/** One line per mistake (an unknown key each on its own line). */
export function issueLines(issues: readonly Issue[], schema: z.ZodType): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(schema, issue.path);
      for (const key of issue.keys) {
        const near = closest(key, known);
        const hint = near ? ` (did you mean "${near}"?)` : known.length > 0 ? ` (known: ${known.join(', ')})` : '';
        lines.push(`${formatPath([...issue.path, key])}: unknown key${hint}`);
      }
      continue;
    }
    lines.push(`${formatPath(issue.path)}: ${describe(issue)}`);
  }
  return lines;
}

function describe(issue: Issue): string {
  const got = 'input' in issue && issue.input !== undefined ? `, got ${show(issue.input)}` : '';
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return `missing (expected ${article(issue.expected)})`;
    return `expected ${article(issue.expected)}${got}`;
  }
  return `${lowerFirst(issue.message)}${got}`;
}

function article(expected: string): string {
  const names: Record<string, string> = {
    number: 'a number',
    int: 'a whole number',
    string: 'a string',
    boolean: 'true or false',
    object: 'an object',
    array: 'a list',
    record: 'an object',
  };
  return names[expected] ?? expected;
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/** The keys an object in `schema` at `path` accepts (empty if it is not an object). */
function knownKeysAt(schema: z.ZodType, path: Path): string[] {
  let node: z.ZodType | undefined = schema;
  for (const part of [...path, undefined]) {
    node = unwrap(node);
    if (part === undefined) break;
    if (node instanceof z.ZodObject) node = (node.shape as Record<string, z.ZodType>)[String(part)];
    else if (node instanceof z.ZodArray) node = node.element as z.ZodType;
    else if (node instanceof z.ZodRecord) node = node.valueType as z.ZodType;
    else return [];
  }
  return node instanceof z.ZodObject ? Object.keys(node.shape) : [];
}

function unwrap(node: z.ZodType | undefined): z.ZodType | undefined {
  let current = node;
  while (current instanceof z.ZodOptional) current = current.unwrap() as z.ZodType;
  return current;
}

/** The known key within edit distance 3 (and under half the key's length) of `key`, if any. */
function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.min(3, Math.ceil(key.length / 2));
  for (const candidate of known) {
    const d = distance(key.toLowerCase(), candidate.toLowerCase());
    if (d <= bestDistance && (best === undefined || d < bestDistance)) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance (keys are short: the quadratic table is fine). */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}
