/**
 * The page's entry: `?user=NAME` opens the chat as NAME (a demo token from `/api/token`), without
 * it a form asks for a name; `&room=room:random` picks the room opened first.
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ChatApp } from './ChatApp.js';
import { ROOMS, isRoom } from './chat-events.js';
import { Login } from './Login.js';
import './style.css';

const params = new URLSearchParams(location.search);
const user = params.get('user');
const room = params.get('room');
const join = (name: string): void => {
  params.set('user', name);
  location.search = params.toString();
};

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    {user ? <ChatApp user={user} firstRoom={isRoom(room) ? room : ROOMS[0]} /> : <Login onJoin={join} />}
  </StrictMode>,
);
