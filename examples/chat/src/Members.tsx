/**
 * The open room's members: users, not tabs (a second tab changes nothing), each with their status
 * over all their devices. A user leaves 10 s after their last tab closed (the server's grace
 * period), so a reload does not flap.
 */
import { usePresence } from '@tether/react';

export function Members({ channel }: { channel: string }) {
  const { members, count } = usePresence(channel);
  const sorted = [...members].sort((a, b) => a.sub.localeCompare(b.sub));
  return (
    <>
      <h2>
        In this room <span id="member-count">({count})</span>
      </h2>
      <ul id="members">
        {sorted.map((m) => (
          <li key={m.sub} data-sub={m.sub}>
            <span className={`dot ${m.status}`} />
            <span className="name">{m.sub}</span>
            <span className="status">{m.status}</span>
          </li>
        ))}
      </ul>
    </>
  );
}
