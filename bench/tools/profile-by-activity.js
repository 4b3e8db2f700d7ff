/**
 * Busy time of a V8 `.cpuprofile` (from `--cpu-prof`) by activity of an HTTP publish server: each
 * sample goes to the innermost marker frame on its stack (socket writes, GC, node's HTTP parser,
 * fastify's routing / body parser / reply, the publish route, the publisher's flush or Socket.IO's
 * broadcast, acks read from the sockets, …; "other" is the rest, startup included). With the number
 * of publishes of the profiled run, µs per publish.
 * usage: node bench/tools/profile-by-activity.js FILE.cpuprofile [PUBLISHES]
 */
import { readFileSync } from 'node:fs';

const [file, msgs] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/tools/profile-by-activity.js FILE.cpuprofile [PUBLISHES]');
  process.exit(2);
}
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((x) => [x.id, x]));
const parent = new Map();
for (const x of prof.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
const selfT = new Map();
for (let i = 0; i < prof.samples.length; i++)
  selfT.set(prof.samples[i], (selfT.get(prof.samples[i]) ?? 0) + (prof.timeDeltas[i] ?? 0));
const markers = [
  ['writev', (f) => f.functionName === 'writev' && f.url === ''],
  ['GC', (f) => f.functionName === '(garbage collector)'],
  [
    'http: headers/incoming',
    (f) => /parserOnHeadersComplete|parserOnIncoming/.test(f.functionName) && f.url.includes('_http'),
  ],
  ['http: res.end', (f) => f.functionName === 'end' && f.url.includes('_http_outgoing')],
  ['fastify: reply.send', (f) => f.functionName === 'Reply.send'],
  ['fastify: routing', (f) => f.functionName === 'routing' && f.url.includes('fastify')],
  ['fastify: body (content-type parser)', (f) => f.functionName === 'onEnd' && f.url.includes('content-type-parser')],
  ['fastify: handler chain', (f) => f.functionName === 'handler' && f.url.includes('handle-request')],
  ['route handler', (f) => /socketio-server.js|http\/api.js/.test(f.url) && f.lineNumber > 50],
  ['publisher flush (store+fanout)', (f) => f.functionName === 'flush' && f.url.includes('publisher.js')],
  ['ws receive (acks)', (f) => f.functionName === 'socketOnData'],
  ['socket.io broadcast', (f) => f.functionName === 'broadcast' && f.url.includes('adapter')],
  ['req stream data', (f) => f.functionName === 'onStreamRead'],
  ['afterWrite', (f) => f.functionName === 'afterWriteTick' || f.functionName === 'afterWrite'],
  ['timers/immediates', (f) => f.functionName === 'processImmediate' || f.functionName === 'listOnTimeout'],
];
const tally = new Map();
let busy = 0;
for (const [id, us] of selfT) {
  const leaf = byId.get(id);
  if (leaf.callFrame.functionName === '(idle)') continue;
  busy += us;
  let cat = 'other';
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const f = byId.get(cur).callFrame;
    const m = markers.find(([, t]) => t(f));
    if (m) {
      cat = m[0];
      break;
    }
  }
  tally.set(cat, (tally.get(cat) ?? 0) + us);
}
console.log(
  `${file.split('/').pop()}: busy ${(busy / 1000).toFixed(0)} ms` +
    (msgs ? `, ${(busy / msgs).toFixed(1)} µs/msg over ${msgs}` : ''),
);
[...tally]
  .sort((a, b) => b[1] - a[1])
  .forEach(([k, us]) =>
    console.log(
      `${((100 * us) / busy).toFixed(1).padStart(5)}% ${(us / 1000).toFixed(0).padStart(6)} ms ${msgs ? (us / msgs).toFixed(1).padStart(6) + ' µs' : ''}  ${k}`,
    ),
  );
