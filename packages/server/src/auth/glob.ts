/**
 * Channel globs of the token's `channels` / `publish` claims: `*` matches any run of characters
 * (including `:`), everything else matches itself. `trip:*` matches `trip:123`; `store:7:*`
 * matches `store:7:orders`; `*` matches every channel.
 *
 * No regular expression and no backtracking: patterns come from tokens, and a backtracking `.*`
 * regex let `*a*a*a*a*b` spend seconds per check. Here the literal segments between the stars are
 * found once each, left to right: the first must be a prefix, the last a suffix, and each middle
 * one is taken at its leftmost place after the previous one (leftmost is always safe, since a star
 * can absorb whatever lies between). The work is bounded by name length × pattern length.
 */
export function matchesGlob(pattern: string, name: string): boolean {
  const star = pattern.indexOf('*');
  if (star < 0) return pattern === name;
  const segments = pattern.split('*');
  const prefix = segments[0]!;
  const suffix = segments[segments.length - 1]!;
  if (prefix.length + suffix.length > name.length) return false;
  if (!name.startsWith(prefix) || !name.endsWith(suffix)) return false;
  const end = name.length - suffix.length; // middle segments must fit before the suffix
  let from = prefix.length;
  for (let i = 1; i < segments.length - 1; i++) {
    const segment = segments[i]!;
    if (segment.length === 0) continue; // `**` is one star
    const at = name.indexOf(segment, from);
    if (at < 0 || at + segment.length > end) return false;
    from = at + segment.length;
  }
  return true;
}

export function matchesAny(patterns: readonly string[], channel: string): boolean {
  for (const pattern of patterns) {
    if (matchesGlob(pattern, channel)) return true;
  }
  return false;
}
