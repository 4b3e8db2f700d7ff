/**
 * The chat for one user: one TetherClient for the page (`TetherProvider`), the header (connection,
 * own status), the rooms with their unread badges, the open room's members, and a `RoomFeed` per
 * room. Every room's feed stays mounted (only the open one is drawn): each room keeps its
 * subscription, so a message in another room arrives, and counts as unread, too.
 */
import { useEffect, useState } from 'react';
import { TetherProvider, useTetherClient } from '@tether/react';
import { ROOMS, type Room } from './chat-events.js';
import { chatClientOptions } from './chat-client-options.js';
import { ErrorReporting } from './errors.js';
import { Header } from './Header.js';
import { Members } from './Members.js';
import { RoomFeed } from './RoomFeed.js';
import { RoomList } from './RoomList.js';

export function ChatApp({ user, firstRoom }: { user: string; firstRoom: Room }) {
  // The provider makes the page's one client from these (read once), connects it, and closes it
  // when the chat unmounts. A new user is a new page: the login reloads.
  return (
    <TetherProvider options={chatClientOptions(user)}>
      <ErrorReporting>
        <ChatLayout user={user} firstRoom={firstRoom} />
      </ErrorReporting>
    </TetherProvider>
  );
}

function ChatLayout({ user, firstRoom }: { user: string; firstRoom: Room }) {
  const client = useTetherClient();
  const [active, setActive] = useState<Room>(firstRoom);
  useEffect(() => {
    // For the console (and the example's test, which reads `metrics().handled`).
    (window as unknown as { chatClient: unknown }).chatClient = client;
  }, [client]);
  return (
    <div id="app">
      <Header user={user} room={active} />
      <nav>
        <h2>Rooms</h2>
        <RoomList active={active} onOpen={setActive} />
        <Members channel={active} />
      </nav>
      <main>
        {ROOMS.map((room) => (
          <RoomFeed key={room} channel={room} user={user} open={room === active} />
        ))}
      </main>
    </div>
  );
}
