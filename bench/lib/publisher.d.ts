// Types for publisher.js, for the TypeScript tests.
export const PAD_LENGTH: number;
export function payload(step: number, seq: number): { seq: number; step: number; sentAt: number; pad: string };
export function collect(): void;
