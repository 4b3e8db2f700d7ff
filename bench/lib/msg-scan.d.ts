// Types for msg-scan.js, for the TypeScript tests.
export class ScanOut {
  constructor(capacity?: number);
  offsets: Float64Array;
  steps: Float64Array;
  sentAts: Float64Array;
  grow(): void;
}
export function scanMsgFrame(buf: Buffer, channelNeedle: Buffer, out: ScanOut): number;
export function scanBenchFrame(buf: Buffer, channelNeedle: Buffer, out: ScanOut, padLength: number): number;
