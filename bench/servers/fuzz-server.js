/**
 * Tether for the fuzz scenario, in its own process: the memory store, default limits except the
 * invalid-frame budget, which is raised (`BENCH_INVALID_BUDGET`) so that each fuzzing socket can
 * send thousands of invalid frames (the scenario also runs sockets at the default budget), and the
 * per-user and per-connection event rates, lifted so that the frames reach the handlers instead of
 * being refused as `rate_limited` at the door (the flood scenario measures that door).
 */
import { createTetherServer } from '@tether/server';
import { collect } from '../lib/publisher.js';
import { serve, usage } from '../lib/rpc.js';

const secret = process.env.BENCH_JWT_SECRET;
if (!secret) throw new Error('BENCH_JWT_SECRET is required');
const apiKey = process.env.BENCH_API_KEY ?? 'bench-fuzz-api-key-0123456789';

const server = await createTetherServer({
  store: 'memory',
  jwtSecret: secret,
  apiKeys: [{ key: apiKey, tenant: '*' }],
  logger: { level: process.env.BENCH_LOG_LEVEL ?? 'error' },
  maxInvalidFramesPerMinute: Number(process.env.BENCH_INVALID_BUDGET ?? 1_000_000_000),
  limits: { eventsPerMinutePerUser: 0, eventsPerMinutePerConnection: 0, maxRefusalsPerConnection: 0 },
});
const { port } = await server.listen(0, '127.0.0.1');

serve({
  stats() {
    return { ...usage(), tether: server.stats() };
  },
  gc() {
    collect();
    return usage();
  },
  async exit() {
    await Promise.race([server.close(), new Promise((resolve) => setTimeout(resolve, 3000).unref())]);
  },
});

process.send?.({ type: 'ready', port });
