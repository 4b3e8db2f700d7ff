/**
 * The test page of @tether/react (built by Vite in the test's beforeAll): one `TetherProvider`
 * (StrictMode with `?strict=1`) and a list of widgets, each one hook on one channel, that the test
 * shows and hides through `window.__harness`. Each widget renders what its hook returns as data
 * attributes and list items, so the test reads the DOM, as a user would see it.
 */
import { StrictMode, useEffect, useRef, useState, type ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import { flushSync } from 'react-dom';
import type { ClientOptions } from '@tether/client';
import {
  TetherProvider,
  useChannel,
  useConnectionStatus,
  useMessages,
  usePresence,
  useTetherClient,
  useReadReceipts,
  useTyping,
  useUnread,
} from '@tether/react';
import type { Harness, Widget } from './harness-types.js';

type ChatEvents = { said: { n: number } };

declare global {
  interface Window {
    __harness?: Harness;
  }
}

const query = new URLSearchParams(location.search);
const options = JSON.parse(query.get('options') ?? '{}') as Partial<ClientOptions>;
const clientOptions: ClientOptions = { url: query.get('url') ?? '', token: query.get('token') ?? '', ...options };
const releaseDelayMs = Number(query.get('releaseDelayMs') ?? 1000);
const handled: Record<string, number[]> = {};
const mounts: Record<string, number> = {};
const actions = new Map<string, Record<string, () => void>>();
const errors: string[] = [];
window.addEventListener('error', (event) => errors.push(String(event.message)));
window.addEventListener('unhandledrejection', (event) => errors.push(String(event.reason)));

function useMountCount(id: string): void {
  useEffect(() => {
    mounts[id] = (mounts[id] ?? 0) + 1;
  }, [id]);
}

function Messages({ id, channel, limit }: { id: string; channel: string; limit?: number }): ReactNode {
  const { messages, loading, error } = useMessages<ChatEvents>(channel, limit === undefined ? {} : { limit });
  return (
    <ul data-widget={id} data-loading={String(loading)} data-error={error?.code ?? ''}>
      {messages.map((m) => (
        <li key={m.offset} data-offset={m.offset}>
          {m.offset}: {m.data.n}
        </li>
      ))}
    </ul>
  );
}

function Channel({ id, channel }: { id: string; channel: string }): ReactNode {
  const list = (handled[id] ??= []);
  const { state, error } = useChannel<ChatEvents>(channel, (m) => void list.push(m.offset));
  return <div data-widget={id} data-state={state} data-error={error?.code ?? ''} />;
}

function Presence({ id, channel }: { id: string; channel: string }): ReactNode {
  useMountCount(id);
  const { members, count, status, setStatus, state } = usePresence(channel);
  actions.set(id, { busy: () => setStatus('busy'), unbusy: () => setStatus(null) });
  return (
    <ul data-widget={id} data-count={count} data-status={status} data-state={state}>
      {members.map((m) => (
        <li key={m.sub} data-sub={m.sub} data-member-status={m.status} />
      ))}
    </ul>
  );
}

function Typing({ id, channel }: { id: string; channel: string }): ReactNode {
  const { typists, typing } = useTyping(channel);
  actions.set(id, { typing });
  return <div data-widget={id} data-typists={typists.join(',')} />;
}

function Unread({ id, channels }: { id: string; channels?: string[] }): ReactNode {
  const { counts, total, error } = useUnread(channels);
  return (
    <div data-widget={id} data-total={total} data-counts={JSON.stringify(counts)} data-error={error?.code ?? ''} />
  );
}

function Status({ id }: { id: string }): ReactNode {
  const { status, quality, serverDown } = useConnectionStatus();
  const seen = useRef<string[]>([]);
  if (seen.current.at(-1) !== status) seen.current.push(status);
  return (
    <div
      data-widget={id}
      data-status={status}
      data-quality={quality}
      data-server-down={String(serverDown)}
      data-seen={seen.current.join(',')}
    />
  );
}

function Receipts({ id, channel }: { id: string; channel: string }): ReactNode {
  const { readers, markRead } = useReadReceipts(channel);
  actions.set(id, { read: () => void markRead().catch((err: unknown) => errors.push(String(err))) });
  return <div data-widget={id} data-readers={JSON.stringify(Object.fromEntries(readers))} />;
}

function Show({ widget }: { widget: Widget }): ReactNode {
  switch (widget.kind) {
    case 'messages':
      return <Messages id={widget.id} channel={widget.channel} {...(widget.limit ? { limit: widget.limit } : {})} />;
    case 'channel':
      return <Channel id={widget.id} channel={widget.channel} />;
    case 'presence':
      return <Presence id={widget.id} channel={widget.channel} />;
    case 'typing':
      return <Typing id={widget.id} channel={widget.channel} />;
    case 'unread':
      return <Unread id={widget.id} {...(widget.channels ? { channels: widget.channels } : {})} />;
    case 'status':
      return <Status id={widget.id} />;
    case 'receipts':
      return <Receipts id={widget.id} channel={widget.channel} />;
  }
}

function App(): ReactNode {
  const client = useTetherClient();
  const [widgets, setWidgets] = useState<Widget[]>([]);
  useEffect(() => {
    window.__harness = {
      show: (next) => flushSync(() => setWidgets(next)),
      act: (id, action) => {
        const run = actions.get(id)?.[action];
        if (!run) throw new Error(`no action ${action} on ${id}`);
        run();
      },
      unmount: () => root.unmount(),
      client,
      handled,
      mounts,
      errors,
    };
  }, [client]);
  return (
    <main>
      {widgets.map((widget) => (
        <Show key={widget.id} widget={widget} />
      ))}
    </main>
  );
}

const tree = (
  <TetherProvider options={clientOptions} releaseDelayMs={releaseDelayMs}>
    <App />
  </TetherProvider>
);
const root = createRoot(document.getElementById('root')!);
root.render(query.get('strict') === '1' ? <StrictMode>{tree}</StrictMode> : tree);
