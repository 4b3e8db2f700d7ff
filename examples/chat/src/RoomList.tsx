/**
 * The rooms, each with its unread badge: the server's `head − read position` for the user, so a
 * badge survives a reload and clears when the user reads the room on any device. The open room
 * shows none (it is being read).
 */
import { useEffect } from 'react';
import { useTetherClient, useUnread } from '@tether/react';
import { ROOMS, type Room } from './chat-events';
import { describe, useReportError } from './errors';

export function RoomList({ active, onOpen }: { active: Room; onOpen: (room: Room) => void }) {
  const client = useTetherClient();
  const report = useReportError();
  const unread = useUnread();
  useEffect(() => {
    // Asks the server once; the SDK keeps these rooms' counts current from then on.
    client.unread(ROOMS).catch((err: unknown) => report(`unread: ${describe(err)}`));
  }, [client, report]);
  return (
    <ul id="rooms">
      {ROOMS.map((room) => {
        const count = room === active ? 0 : (unread[room]?.unread ?? 0);
        return (
          <li key={room} data-channel={room} className={room === active ? 'active' : ''} onClick={() => onOpen(room)}>
            <span>{room}</span>
            {count > 0 && <span className="badge">{count}</span>}
          </li>
        );
      })}
    </ul>
  );
}
