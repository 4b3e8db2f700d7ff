/** The message box: `onTyping` on every keystroke (the SDK sends at most one frame per 2 s). */
import { useState, type FormEvent } from 'react';

export function Composer({ onSend, onTyping }: { onSend: (text: string) => void; onTyping: () => void }) {
  const [text, setText] = useState('');
  const submit = (e: FormEvent<HTMLFormElement>): void => {
    e.preventDefault();
    const trimmed = text.trim();
    if (!trimmed) return;
    setText('');
    onSend(trimmed);
  };
  return (
    <form id="send" onSubmit={submit}>
      <input
        name="text"
        autoComplete="off"
        placeholder="Message"
        maxLength={2000}
        required
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          if (e.target.value) onTyping();
        }}
      />
      <button>Send</button>
    </form>
  );
}
