/**
 * The rooms' event map: each message `type` and its `data`. Edits and deletes are new events that
 * name the message they change (`id`) and where it was (`at`, the original's offset), so a client
 * that only ever sees the latest edit can still place it (see the README).
 */
export interface ChatEvents {
  'message:created': { id: string; from: string; text: string };
  'message:edited': { id: string; from: string; at: number; text: string };
  'message:deleted': { id: string; from: string; at: number };
}

/** The rooms of the demo (the server's token lets a user read and write `room:*`). */
export const ROOMS = ['room:general', 'room:random'] as const;
export type Room = (typeof ROOMS)[number];

export const isRoom = (value: string | null): value is Room => ROOMS.some((room) => room === value);
