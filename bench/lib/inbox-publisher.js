/**
 * The inbox step (scenario `inbox`): like `runStep` (lib/publisher.js), but each message goes to one
 * user picked at random among `users`, and the answer says, per user, which of its own offsets the
 * step published (`inbox.first[u]..inbox.last[u]`, -1 when none), so each loader can check its
 * clients' inboxes. `first`/`last` of the answer are the step's global sequence numbers.
 */
import { runStep } from './publisher.js';

/**
 * Per user, which of its own offsets a step published: `note` each published message, then
 * `summary()` is the `inbox` of the step's answer.
 * @param {number} users
 */
export function inboxOffsets(users) {
  const first = new Array(users).fill(-1);
  const last = new Array(users).fill(-1);
  const count = new Array(users).fill(0);
  return {
    /** @param {number} user @param {number} offset */
    note(user, offset) {
      count[user]++;
      if (first[user] === -1 || offset < first[user]) first[user] = offset;
      if (offset > last[user]) last[user] = offset;
    },
    summary() {
      // Only one publisher writes to the inboxes, so each user's offsets of a step are contiguous.
      let gaps = 0;
      for (let u = 0; u < users; u++) if (count[u] > 0 && last[u] - first[u] + 1 !== count[u]) gaps++;
      return { first, last, usersWithGaps: gaps };
    },
  };
}

/**
 * @param {{step: number, rate: number, seconds: number}} args
 * @param {number} users users `bench-0` … `bench-<users-1>`
 * @param {(user: number, data: object) => number | Promise<number>} send publishes `data` to the
 *   user's inbox; returns the message's offset in that inbox
 */
export async function runInboxStep(args, users, send) {
  const offsets = inboxOffsets(users);
  let seq = 0;
  const pub = await runStep(args, (data) => {
    const user = Math.floor(Math.random() * users);
    const s = seq++;
    const r = send(user, data);
    if (typeof r === 'number') {
      offsets.note(user, r);
      return s;
    }
    return r.then((offset) => {
      offsets.note(user, offset);
      return s;
    });
  });
  return { ...pub, inbox: offsets.summary() };
}
