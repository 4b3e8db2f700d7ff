/** Where a command writes: injected, so that commands stay testable without a process. */
export interface Output {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}
