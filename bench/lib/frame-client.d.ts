// Types for frame-client.js, so that TypeScript tests can use the light client.
export interface FrameClientOptions {
  url: string;
  auth?: unknown;
  onEvent?: (event: string, args: unknown[]) => void;
  /** Sees each EVENT frame's bytes first; returning true skips JSON parsing. */
  onRawEvent?: (frame: Buffer) => boolean;
  onClose?: (code: number, reason: string) => void;
  onError?: (err: Error) => void;
}

export function socketUrl(host: string, port: number, path?: string): string;

export class FrameClient {
  constructor(options: FrameClientOptions);
  readonly url: string;
  sid: string | null;
  connected: boolean;
  framesIn: number;
  pings: number;
  onEvent: ((event: string, args: unknown[]) => void) | null;
  onRawEvent: ((frame: Buffer) => boolean) | null;
  connect(timeoutMs?: number): Promise<{ sid: string }>;
  emit(event: string, ...args: unknown[]): void;
  sendRaw(frame: string): void;
  request(event: string, arg: unknown, timeoutMs?: number): Promise<unknown[]>;
  close(): void;
}
