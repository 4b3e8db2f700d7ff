/**
 * The load balancer in front of the cluster, as small as it gets: a TCP proxy that sends each new
 * connection to the first node that accepts it, in the order given. Staff clients connect through
 * it; when their node dies, their SDK reconnects through it to a survivor and resumes from its
 * positions. No sticky sessions: a websocket-only client needs none.
 */
import net from 'node:net';

export async function startFailoverProxy(targetUrls) {
  const targets = targetUrls.map((url) => new URL(url));
  const sockets = new Set();
  const track = (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => {}); // a peer gone is a closed pipe, nothing more
    return socket;
  };
  const connectFirst = (index, client) => {
    if (index >= targets.length || client.destroyed) return client.destroy();
    const { hostname, port } = targets[index];
    const upstream = track(net.connect(Number(port), hostname));
    let connected = false;
    upstream.once('error', () => {
      if (!connected) connectFirst(index + 1, client); // refused: the next node
    });
    upstream.once('connect', () => {
      connected = true;
      client.pipe(upstream).pipe(client);
      upstream.once('close', () => client.destroy());
      client.once('close', () => upstream.destroy());
    });
  };
  const server = net.createServer((client) => connectFirst(0, track(client)));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
