/**
 * The header: who the user is, the connection indicator (the SDK's status and the RTT probe's
 * quality), the publishes waiting in the offline queue, and the user's own status over all their
 * devices with the busy toggle.
 */
import { useState, useSyncExternalStore } from 'react';
import { useConnectionStatus, usePresence, useTetherClient } from '@tether/react';

export function Header({ user, room }: { user: string; room: string }) {
  return (
    <header>
      <strong>Tether chat</strong>
      <span id="me">you: {user}</span>
      <ConnectionIndicator />
      <span className="spacer" />
      <MyStatus room={room} />
    </header>
  );
}

function ConnectionIndicator() {
  const { status, quality, serverDown } = useConnectionStatus();
  const queued = useQueued();
  const detail = status === 'connected' && quality !== 'unknown' ? ` · ${quality}` : '';
  return (
    <>
      <span id="connection" className={`status-${status}`}>
        {status}
        {detail}
        {serverDown ? ' · server down' : ''}
      </span>
      <span id="queued">{queued > 0 ? `${queued} queued` : ''}</span>
    </>
  );
}

/**
 * Publishes waiting in the SDK's offline queue (`client.metrics().queued`). The SDK has no event
 * for it: read on every status change and every 250 ms.
 */
function useQueued(): number {
  const client = useTetherClient();
  return useSyncExternalStore(
    (changed) => {
      const off = client.on('status', changed);
      const timer = setInterval(changed, 250);
      return () => {
        off();
        clearInterval(timer);
      };
    },
    () => client.metrics().queued,
  );
}

/**
 * The user's status over all devices (online, idle, away from activity; busy by hand), as the
 * server answers it (`usePresence`). The toggle is this device's own setting: it flips at once,
 * the status when the server has it.
 */
function MyStatus({ room }: { room: string }) {
  const { status, setStatus } = usePresence(room);
  const [busy, setBusy] = useState(false);
  return (
    <>
      <span id="my-status">
        <span className={`dot ${status}`} />
        {status}
      </span>
      <label>
        <input
          type="checkbox"
          id="busy"
          checked={busy}
          onChange={(e) => {
            setBusy(e.target.checked);
            setStatus(e.target.checked ? 'busy' : null);
          }}
        />{' '}
        busy
      </label>
    </>
  );
}
