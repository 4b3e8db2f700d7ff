/**
 * The HTTP load process of scenario `ingress`: a step publishes `rate × seconds` messages with
 * `POST /v1/publish` over `BENCH_CONNECTIONS` keep-alive connections (autocannon, one request in
 * flight per connection), each to the inbox of one user picked at random, carrying its send time.
 * The answer has the shape of the in-process publisher's (lib/inbox-publisher.js), so that the
 * loaders check every inbox the same way: per user, which of its offsets the step published.
 *
 * Pacing is autocannon's: `overallRate` gives each connection a quota per second, which it sends
 * back to back, then waits for the next second. A server slower than the rate stretches the step;
 * the window is then longer than `seconds` and the delivered rate falls below the target.
 *
 * Environment: BENCH_URL (http://127.0.0.1:PORT), BENCH_API_KEY, BENCH_USERS, BENCH_CONNECTIONS.
 */
import autocannon from 'autocannon';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { inboxOffsets } from '../lib/inbox-publisher.js';
import { payload } from '../lib/publisher.js';
import { serve, usage } from '../lib/rpc.js';

const URL_ = process.env.BENCH_URL ?? '';
const API_KEY = process.env.BENCH_API_KEY ?? '';
const USERS = Number(process.env.BENCH_USERS ?? 0);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
if (!URL_ || !API_KEY || !(USERS > 0)) throw new Error('BENCH_URL, BENCH_API_KEY and BENCH_USERS are required');

/** @param {autocannon.Options} opts @param {number} limitMs stops a run that outlasts it */
function run(opts, limitMs) {
  return new Promise((resolve, reject) => {
    const instance = autocannon(opts, (err, result) => (err ? reject(err) : resolve(result)));
    const watchdog = setTimeout(() => instance.stop(), limitMs);
    instance.on('done', () => clearTimeout(watchdog));
  });
}

/**
 * One step: the publishes, then the answer the ladder reads (lib/step.js `StepPublish`, plus `inbox`).
 * @param {{step: number, rate: number, seconds: number}} args
 */
async function step({ step, rate, seconds }) {
  const total = Math.round(rate * seconds);
  const offsets = inboxOffsets(USERS);
  const eld = monitorEventLoopDelay({ resolution: 5 });
  eld.enable();
  let seq = 0;
  let published = 0;
  let errors = 0;
  /** @type {string | null} */
  let firstError = null;
  const t0 = Date.now();
  let lastAnswerAt = t0;
  const result = await run(
    {
      url: URL_,
      connections: Math.min(CONNECTIONS, total),
      pipelining: 1,
      amount: total,
      overallRate: rate,
      timeout: 10,
      requests: [
        {
          method: 'POST',
          path: '/v1/publish',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
          // Built just before it is sent: a new user, sequence number and send time each time.
          setupRequest: (req, context) => {
            const user = Math.floor(Math.random() * USERS);
            context.user = user;
            const data = payload(step, seq++);
            return { ...req, body: JSON.stringify({ channel: `user:bench-${user}`, type: 'tick', data }) };
          },
          onResponse: (status, body, context) => {
            lastAnswerAt = Date.now();
            if (status === 200) {
              offsets.note(/** @type {number} */ (context.user), JSON.parse(body).offset);
              published++;
              return;
            }
            errors++;
            firstError ??= `${status} ${String(body).slice(0, 200)}`;
          },
        },
      ],
    },
    (seconds * 3 + 10) * 1000,
  );
  // The window ends with the last answer (autocannon reports `done` up to a second later, at its
  // next tick), and lasts `seconds` at least (the last second's quota may go out early).
  const t1 = Math.max(lastAnswerAt, t0 + seconds * 1000);
  eld.disable();
  errors += result.errors + result.timeouts;
  if (result.errors + result.timeouts > 0) firstError ??= `${result.errors} errors, ${result.timeouts} timeouts`;
  return {
    step,
    rate,
    sent: seq,
    published,
    // Global sequence numbers of the published messages (per-user offsets are in `inbox`).
    first: published > 0 ? 0 : null,
    last: published > 0 ? published - 1 : null,
    contiguous: published > 0,
    errors,
    firstError,
    t0,
    t1,
    // How far the load fell behind its schedule: the time past `seconds` it needed.
    maxPublishLagMs: Math.max(0, lastAnswerAt - t0 - seconds * 1000),
    eventLoopDelayMs: { p50: eld.percentile(50) / 1e6, p99: eld.percentile(99) / 1e6, max: eld.max / 1e6 },
    http: {
      latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
      non2xx: result.non2xx,
    },
    inbox: offsets.summary(),
  };
}

serve({ step, usage });
process.send?.({ type: 'ready' });
