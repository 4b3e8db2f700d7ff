/**
 * Channel globs of the token's `channels` / `publish` claims: `*` matches any run of characters
 * (including `:`), everything else matches itself. `trip:*` matches `trip:123`; `store:7:*`
 * matches `store:7:orders`; `*` matches every channel.
 */
const compiled = new Map<string, RegExp>();

function compile(pattern: string): RegExp {
  let re = compiled.get(pattern);
  if (!re) {
    const body = pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    re = new RegExp(`^${body}$`);
    if (compiled.size > 10_000) compiled.clear(); // bounded: patterns come from tokens
    compiled.set(pattern, re);
  }
  return re;
}

export function matchesAny(patterns: readonly string[], channel: string): boolean {
  for (const pattern of patterns) {
    if (pattern === channel || compile(pattern).test(channel)) return true;
  }
  return false;
}
