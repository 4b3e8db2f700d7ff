import type http from 'node:http';

/** Listens; resolves the bound port and the URL to reach it (IPv6 hosts in brackets). */
export async function listenOn(
  httpServer: http.Server,
  port: number,
  host: string,
): Promise<{ port: number; host: string; url: string }> {
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(port, host, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const address = httpServer.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return { port: bound, host, url: `http://${urlHost}:${bound}` };
}
