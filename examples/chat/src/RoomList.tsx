/**
 * The rooms, each with its unread badge: the server's `head − read position` for the user, so a
 * badge survives a reload and clears when the user reads the room on any device. The open room
 * shows none (it is being read).
 */
import { useUnread } from '@tether/react';
import { ROOMS, type Room } from './chat-events.js';

export function RoomList({ active, onOpen }: { active: Room; onOpen: (room: Room) => void }) {
  // Asked of the server on mount and on every reconnect; kept current by the SDK in between.
  const { counts, error } = useUnread(ROOMS);
  return (
    <ul id="rooms">
      {ROOMS.map((room) => {
        const count = room === active ? 0 : (counts[room]?.unread ?? 0);
        return (
          <li key={room} data-channel={room} className={room === active ? 'active' : ''} onClick={() => onOpen(room)}>
            <span>{room}</span>
            {count > 0 && <span className="badge">{count}</span>}
          </li>
        );
      })}
      {error && <li className="error">unread: {error.code}</li>}
    </ul>
  );
}
