/**
 * A TCP proxy between the driver's phone and the backend that plays the outage: `drop()` closes
 * every connection and refuses new ones (the phone lost its network), `freeze()` stops moving
 * bytes on live connections without telling either end and refuses new ones (TCP stalled: a NAT
 * that forgot the flow), `restore()` ends either. Node built-ins only.
 */
import net from 'node:net';

export interface OutageProxy {
  url: string;
  drop(): void;
  freeze(): void;
  restore(): void;
  close(): Promise<void>;
}

interface Pair {
  phone: net.Socket;
  backend: net.Socket;
  held: { up: Buffer[]; down: Buffer[] };
}

export async function startOutageProxy(targetPort: number): Promise<OutageProxy> {
  const pairs = new Set<Pair>();
  let refusing = false;
  let frozen = false;
  const server = net.createServer((phone) => {
    if (refusing) return phone.destroy();
    const backend = net.connect(targetPort, '127.0.0.1');
    const pair: Pair = { phone, backend, held: { up: [], down: [] } };
    pairs.add(pair);
    const forward = (from: net.Socket, to: net.Socket, queue: Buffer[]): void => {
      from.on('data', (chunk: Buffer) => (frozen ? queue.push(chunk) : to.write(chunk)));
    };
    forward(phone, backend, pair.held.up);
    forward(backend, phone, pair.held.down);
    const end = (): void => {
      pairs.delete(pair);
      phone.destroy();
      backend.destroy();
    };
    phone.on('error', end).on('close', end);
    backend.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const drop = (): void => {
    refusing = true;
    for (const { phone, backend } of pairs) {
      phone.destroy();
      backend.destroy();
    }
  };
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    drop,
    freeze() {
      refusing = true;
      frozen = true;
    },
    restore() {
      refusing = false;
      frozen = false;
      // What a frozen connection held moves on, late (if the phone still listens).
      for (const { phone, backend, held } of pairs) {
        for (const chunk of held.up.splice(0)) backend.write(chunk);
        for (const chunk of held.down.splice(0)) phone.write(chunk);
      }
    },
    close() {
      drop();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
