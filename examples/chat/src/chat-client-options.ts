/**
 * The options of the page's one TetherClient, for the user named in the URL. `getToken` asks the
 * example's `/api/token` (the demo's stand-in for a login): before connecting, and again before
 * the token expires.
 */
import type { ClientOptions } from '@tether/client';

export function chatClientOptions(user: string): ClientOptions {
  return {
    url: location.origin,
    getToken: async () => {
      const res = await fetch(`/api/token?user=${encodeURIComponent(user)}`);
      if (!res.ok) throw new Error(`token: ${res.status} ${await res.text()}`);
      return res.text();
    },
  };
}
