// Types for interleave.js, for the TypeScript tests.
export interface Stepper {
  call(method: string, args: Record<string, unknown>, timeoutMs?: number): Promise<unknown>;
}
export interface LadderArgs {
  workers: Stepper[];
  publisher: Stepper;
  snapshot(): Promise<unknown>;
  drained(): Promise<unknown>;
  row(d: { i: number; rate: number }): { keptUp: boolean };
  print(row: { keptUp: boolean }): void;
  result: { steps: unknown[]; errors: string[] };
  afterPublish?(pub: unknown, i: number): Promise<unknown>;
}
export interface SteppedSystem<R extends { errors: string[] }> {
  name: string;
  result: R;
  open(): Promise<LadderArgs>;
  finish(): Promise<void>;
  stop(): Promise<unknown>;
}
export function runInterleaved<R extends { errors: string[] }>(
  systems: Array<SteppedSystem<R>>,
  opts: { rates: number[]; stepSeconds: number; drainSeconds: number; maxFails: number; warmupSeconds?: number },
): Promise<R[]>;
