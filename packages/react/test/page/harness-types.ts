/** What the test page (main.tsx) offers the test on `window.__harness`, and its widgets. */
import type { TetherClient } from '@tether/client';

/** One hook on the page, rendered as data attributes (and list items) the test reads. */
export type Widget =
  | { id: string; kind: 'messages'; channel: string; limit?: number }
  | { id: string; kind: 'channel'; channel: string }
  | { id: string; kind: 'presence'; channel: string }
  | { id: string; kind: 'typing'; channel: string }
  | { id: string; kind: 'unread'; channels?: string[] }
  | { id: string; kind: 'status' }
  | { id: string; kind: 'receipts'; channel: string };

export interface Harness {
  /** Replaces the widgets shown (committed before it returns). */
  show(widgets: Widget[]): void;
  /** Calls a widget's action: `typing` (useTyping), `busy` / `unbusy` (usePresence), `read` (useReadReceipts). */
  act(id: string, action: string): void;
  /** Unmounts the whole app, provider included (its client closes after the release delay). */
  unmount(): void;
  client: TetherClient;
  /** Offsets each `channel` widget's handler got, in order. */
  handled: Record<string, number[]>;
  /** Effect runs of each widget (2 per mount under StrictMode). */
  mounts: Record<string, number>;
  /** Errors the page saw (`error`, `unhandledrejection`). */
  errors: string[];
}

/** The page's globals, as the test's `page.evaluate` callbacks reach them. */
export interface PageGlobals {
  __harness?: Harness;
}
