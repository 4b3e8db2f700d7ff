// Types for rounds.js, for the TypeScript tests.
export interface LatencyRatio {
  p50Ratio: number | null;
  p99Ratio: number | null;
  tether: number;
  socketio: number;
}
export interface LadderResult {
  steps: Array<{ rate: number; keptUp: boolean; p50: number; p99: number }>;
}
export function latencyByRate(tether: LadderResult, plain: LadderResult): Record<string, LatencyRatio>;
export function medianRatios(
  ratios: Array<{ deliveredRatio: number; latencyByRate?: Record<string, LatencyRatio> } | null>,
): {
  rounds: number;
  roundsCompared: number;
  deliveredRatio: number | null;
  latency: Record<
    string,
    { p50Ratio: number | null; p99Ratio: number | null; rounds: Array<{ tether: number; socketio: number }> }
  >;
};
export function median(values: Array<number | null>): number | null;
export function medianTargets<T extends { system: string; baseline: string; goal: number }>(
  goals: T[],
  perRound: Array<Array<T & { ratio: number }>>,
  keptUp?: Array<Set<string>>,
): Array<T & { ratios: Array<number | null>; ratio: number | null; met: boolean }>;
export function runRounds<R extends { system: string }, O>(
  count: number,
  names: string[],
  runOne: (name: string) => Promise<R>,
  report: (results: R[]) => O,
): Promise<O[]>;
export function runEachRound<R extends { system: string }, O>(
  count: number,
  names: string[],
  runRound: (order: string[]) => Promise<R[]>,
  report: (results: R[]) => O,
): Promise<O[]>;
