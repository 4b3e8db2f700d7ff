import { ErrorCode, TetherError } from '@tether/protocol';

/**
 * Refuses message `data` nested deeper than `maxDepth` (objects and arrays; a scalar is depth 0,
 * `{}` and `[]` depth 1), and binary values, which JSON cannot carry. Runs before anything
 * stringifies `data`: JSON.stringify, Socket.IO's encoder and pino recurse, so data nested a few
 * thousand levels would otherwise be stored and then fail every read. Iterative, so no input can
 * exhaust the stack here; at most `maxValues` values are visited (each takes at least one byte of
 * JSON, so a larger count is over the size limit anyway), which also ends a walk of a library
 * caller's cyclic or widely shared object graph.
 */
export function checkDataShape(data: unknown, maxDepth: number, maxValues: number): void {
  const stack: { value: unknown; depth: number }[] = [{ value: data, depth: 0 }];
  let visited = 0;
  while (stack.length > 0) {
    const { value, depth } = stack.pop()!;
    visited++;
    if (typeof value !== 'object' || value === null) continue;
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
      throw new TetherError(ErrorCode.BadRequest, 'data must be JSON; binary values are refused');
    }
    const inner = depth + 1;
    if (inner > maxDepth) {
      throw new TetherError(ErrorCode.BadRequest, `data is nested deeper than ${maxDepth} levels`);
    }
    const children: unknown[] = Array.isArray(value) ? value : Object.values(value);
    if (visited + stack.length + children.length > maxValues) {
      throw new TetherError(ErrorCode.PayloadTooLarge, `data has more than ${maxValues} values`);
    }
    // A scalar is visited here (it has nothing to check): only objects and arrays are stacked,
    // which spares one entry per value of the common flat `data`. The count is the same.
    for (const child of children) {
      if (typeof child === 'object' && child !== null) stack.push({ value: child, depth: inner });
      else visited++;
    }
  }
}
