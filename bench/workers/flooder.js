/**
 * The flooding client of `bench flood`, in its own process: one socket of one user that publishes
 * as fast as the server answers (`inflight` requests outstanding at all times) and never backs off,
 * as a broken or hostile client would, and reconnects at once whenever it is cut off. Counts the
 * replies (accepted, `rate_limited`, other) and the connections (made, refused, cut).
 */
import { FrameClient, socketUrl } from '../lib/frame-client.js';
import { signJwt } from '../lib/jwt.js';
import { serve, usage } from '../lib/rpc.js';

serve({
  /**
   * @param {{host: string, port: number, secret: string, tenant: string, channel: string, seconds: number, inflight: number, sub?: string}} args
   */
  async flood({ host, port, secret, tenant, channel, seconds, inflight, sub = 'flooder' }) {
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const token = signJwt({ sub, tenant, channels: ['bench:*'], publish: ['bench:*'], exp }, secret);
    const counts = {
      sent: 0,
      accepted: 0,
      rateLimited: 0,
      other: 0,
      firstRetryAfterMs: null,
      connects: 0,
      connectsRefused: 0,
      cut: 0,
    };
    const until = Date.now() + seconds * 1000;
    let seq = 0;
    const t0 = Date.now();
    const cpu0 = usage().cpuMs;
    // Like an attacker: cut off, it reconnects at once (the server's connection limits apply).
    while (Date.now() < until) {
      const client = new FrameClient({ url: socketUrl(host, port), auth: { token, deviceId: sub } });
      try {
        await client.connect(Math.max(1, until - Date.now()));
        counts.connects++;
      } catch {
        counts.connectsRefused++;
        await new Promise((resolve) => setTimeout(resolve, 10));
        continue;
      }
      const lane = async () => {
        while (Date.now() < until && client.connected) {
          counts.sent++;
          try {
            const [reply] = await client.request('pub', { channel, type: 'spam', data: { seq: seq++ }, id: `f${seq}` });
            const code = reply?.error?.code;
            if (code === undefined) counts.accepted++;
            else if (code === 'rate_limited') {
              counts.rateLimited++;
              counts.firstRetryAfterMs ??= reply.error.retryAfterMs ?? null;
            } else counts.other++;
          } catch {
            counts.other++; // no reply: the connection was cut with it in flight
          }
        }
      };
      await Promise.all(Array.from({ length: inflight }, lane));
      if (Date.now() < until) counts.cut++;
      client.close();
    }
    const elapsed = (Date.now() - t0) / 1000;
    const cpuPct = Math.round((usage().cpuMs - cpu0) / elapsed / 10);
    return { ...counts, perSecond: Math.round(counts.sent / elapsed), cpuPct };
  },
});
