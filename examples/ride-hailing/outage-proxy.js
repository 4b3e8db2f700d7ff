/**
 * A TCP proxy between the driver's phone and the backend that plays the outage: `drop()` closes
 * every connection and refuses new ones (the phone lost its network), `freeze()` stops moving
 * bytes on live connections without telling either end and refuses new ones (TCP stalled: a NAT
 * that forgot the flow), `restore()` ends either. Node built-ins only.
 */
import net from 'node:net';

export async function startOutageProxy(targetPort) {
  const pairs = new Set();
  let refusing = false;
  let frozen = false;
  const server = net.createServer((phone) => {
    if (refusing) return phone.destroy();
    const backend = net.connect(targetPort, '127.0.0.1');
    const pair = { phone, backend, held: { up: [], down: [] } };
    pairs.add(pair);
    const forward = (from, to, queue) => from.on('data', (chunk) => (frozen ? queue.push(chunk) : to.write(chunk)));
    forward(phone, backend, pair.held.up);
    forward(backend, phone, pair.held.down);
    const end = () => {
      pairs.delete(pair);
      phone.destroy();
      backend.destroy();
    };
    phone.on('error', end).on('close', end);
    backend.on('error', end).on('close', end);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    drop() {
      refusing = true;
      for (const { phone, backend } of pairs) {
        phone.destroy();
        backend.destroy();
      }
    },
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
      this.drop();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
