import type net from 'node:net';

/** Listens on 127.0.0.1 on a free port; resolves the port. */
export async function listenLoopback(server: net.Server, what: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error(`${what}: no TCP address`);
  return address.port;
}
