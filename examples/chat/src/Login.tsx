/** The demo's "login": a name, sent on as `?user=` (the token endpoint signs any name). */
import type { FormEvent } from 'react';

export function Login({ onJoin }: { onJoin: (name: string) => void }) {
  const submit = (e: FormEvent<HTMLFormElement>): void => {
    e.preventDefault();
    onJoin(String(new FormData(e.currentTarget).get('user') ?? ''));
  };
  return (
    <form id="login" onSubmit={submit}>
      <h1>Tether chat</h1>
      <label>
        Your name <input name="user" pattern="[A-Za-z0-9_\-]{1,32}" required autoFocus />
      </label>
      <button>Join</button>
    </form>
  );
}
