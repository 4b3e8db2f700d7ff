import type http from 'node:http';

/**
 * Listens; resolves the bound port and the URL to reach it (IPv6 hosts in brackets). `backlog` is
 * the accept queue: after a restart thousands of clients connect within a second, and a full queue
 * drops their SYNs, which come back only after the kernel's retransmit timeout (1 s, 3 s, 7 s, …).
 */
export async function listenOn(
  httpServer: http.Server,
  port: number,
  host: string,
  backlog: number,
): Promise<{ port: number; host: string; url: string }> {
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen({ port, host, backlog }, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const address = httpServer.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return { port: bound, host, url: `http://${urlHost}:${bound}` };
}
