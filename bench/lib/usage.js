/** The bench's `--help` text, with each scenario's defaults (bench/run.js prints it). */
import { DEFAULT_SYSTEMS, SYSTEMS, fanoutDefaults } from '../scenarios/fanout.js';
import { clusterDefaults } from '../scenarios/cluster.js';
import { authDefaults } from '../scenarios/auth.js';
import { fuzzDefaults } from '../scenarios/fuzz.js';
import { floodDefaults } from '../scenarios/flood.js';
import { INBOX_SYSTEMS, inboxDefaults } from '../scenarios/inbox.js';
import { INGRESS_SYSTEMS, ingressDefaults } from '../scenarios/ingress.js';
import { stormDefaults } from '../scenarios/storm.js';
import { IDLE_DEFAULT_SYSTEMS, IDLE_SYSTEMS, idleDefaults } from '../scenarios/idle.js';
import { DEFLATE_SETTINGS, deflateDefaults } from '../scenarios/deflate.js';
import { presenceDefaults } from '../scenarios/presence.js';
import { METRICS_PARTS, metricsDefaults } from '../scenarios/metrics.js';

export const USAGE = `usage: node bench/run.js <scenario> [flags]

scenarios:
  fanout      Tether vs plain Socket.IO 4.8, one channel, stepped rates
  cluster     the same clients on 1 Tether node vs N nodes sharing one private Redis
  auth        token verification per algorithm and claim globs with hostile patterns (HTTP poll)
  fuzz        generated hostile frames (fast-check) against one server process
  flood       one socket floods publishes; a bystander's delivery p99 with the limits on and off
  inbox       one message to one random user's inbox: plain Socket.IO, emitWithAck, Tether memory, SQLite
  ingress     HTTP publishes (autocannon) to random inboxes: fastify + Socket.IO, Tether memory, SQLite
  storm       the resume storm: clients on their inbox + room:all, kill -9, restart on the same SQLite file
  idle        server memory per idle authenticated connection, each on its inbox: Tether vs plain Socket.IO
  deflate     bytes on the wire and server CPU per message, permessage-deflate off / on (1024) / on (0)
  presence    N clients join one presence channel within 10 s: presence frames and bytes per member size
  metrics     fan-out and inbox throughput with the Prometheus metrics off and on (off, on, off, on)

fanout flags:
  --clients N          clients (default ${fanoutDefaults.clients})
  --workers N          loader processes sharing the clients (default ${fanoutDefaults.workers})
  --rates a,b,c        publish rates per second, one step each (default ${fanoutDefaults.rates.join(',')})
  --steps N            the first N rates of the default ladder
  --step-seconds S     length of each step (default ${fanoutDefaults.stepSeconds})
  --max-fails N        stop after N failed steps in a row (default ${fanoutDefaults.maxFails})
  --warmup-seconds S   a step at the first rate before the measured ones, reported apart and never
                       the kept-up step, for every system (default ${fanoutDefaults.warmupSeconds}; 0 = none)
  --rounds N           run every system N times, taking turns (ABBA), and give the ratios per round
                       and as their median (default ${fanoutDefaults.rounds})
  --store memory|sqlite   Tether's store (default ${fanoutDefaults.store})
  --only LIST          systems to run, in order, from: ${Object.keys(SYSTEMS).join(', ')}
                       (default ${DEFAULT_SYSTEMS.join(',')}; socketio-batched = plain Socket.IO
                       sending the messages of one event-loop turn as one frame, like Tether)
  --parse scan|json    how loaders read msg frames: scan the bytes (default; a sample of frames
                       is checked against JSON.parse) or JSON.parse every frame
  --server-cpu C       pin every server's main thread to CPU C: auto (the fastest by a short loop,
                       default), a number, or none (lib/cpu-pin.js: this VM's CPUs differ ~1.5×)
  --cpu-prof           write V8 CPU profiles of the server and loader processes to bench/results/prof/
  --max-minutes M      hard stop for the whole run (default 10)

cluster flags:
  --clients N          clients in both layouts, split evenly over the nodes (default ${clusterDefaults.clients})
  --workers N          loader processes (default ${clusterDefaults.workers})
  --nodes N            nodes of the scaled-out layout (default ${clusterDefaults.nodes}; the other is 1)
  --rates a,b,c        publish rates per second (default ${clusterDefaults.rates.join(',')})
  --steps N            the first N rates of the default ladder
  --step-seconds S     length of each step (default ${clusterDefaults.stepSeconds})
  --max-fails N        stop a layout after N failed steps in a row (default ${clusterDefaults.maxFails})
  --warmup-seconds S   a step at the first rate before the measured ones, as fanout (default 0)
  --parse scan|json    how loaders read msg frames (default scan)
  --max-minutes M      hard stop for the whole run (default 5)

auth flags:
  --requests N         polls per case (default ${authDefaults.requests})
  --max-minutes M      hard stop for the whole run (default 2)

fuzz flags:
  --frames N           frames to send (default ${fuzzDefaults.frames})
  --seconds S          stop sending after S seconds even if fewer frames went out (default ${fuzzDefaults.seconds})
  --sockets N          sockets sending valid-looking hostile event frames (default ${fuzzDefaults.sockets})
  --raw-sockets N      sockets sending raw Engine.IO / Socket.IO packets (default ${fuzzDefaults.rawSockets})
  --seed N             fast-check seed of the frame pools (default ${fuzzDefaults.seed})

flood flags:
  --rate N             messages per second published to the bystander (default ${floodDefaults.rate})
  --window-seconds S   length of each window (default ${floodDefaults.windowSeconds})
  --rounds N           rounds of (baseline window, flood window) (default ${floodDefaults.rounds})
  --inflight N         publish requests the flooder keeps outstanding (default ${floodDefaults.inflight})
  --max-minutes M      hard stop for the whole run (default 3)

inbox flags:
  --clients N          connected users, each its own token and inbox (default ${inboxDefaults.clients})
  --workers N          loader processes (default ${inboxDefaults.workers})
  --rates a,b,c        publish rates per second, each message to one random user (default ${inboxDefaults.rates.join(',')})
  --steps N            the first N rates of the default ladder
  --step-seconds S     length of each step (default ${inboxDefaults.stepSeconds})
  --max-fails N        stop a system after N failed steps in a row (default ${inboxDefaults.maxFails})
  --warmup-seconds S   a step at the first rate before the measured ones, as fanout (default 0)
  --rounds N           run every system N times, taking turns (ABBA); each goal's ratio is then
                       the median of the rounds' (default ${inboxDefaults.rounds})
  --interleave         set every system up first, then take turns at every rate (lib/interleave.js:
                       a slow minute of a vCPU falls on every system's step of that rate)
  --only LIST          systems to run, in order, from: ${Object.keys(INBOX_SYSTEMS).join(', ')} (default all)
  --ack-timeout-ms MS  the emitWithAck design's timeout before a retry (default ${inboxDefaults.ackTimeoutMs})
  --server-cpu C       pin every server's main thread to CPU C: auto (the fastest by a short loop,
                       default), a number, or none (lib/cpu-pin.js: this VM's CPUs differ ~1.5×)
  --cpu-prof           write V8 CPU profiles of the servers to bench/results/prof/
  --parse scan|json    how loaders read msg frames (default scan)
  --max-minutes M      hard stop for the whole run (default 4 + 6 per round)

ingress flags:
  --clients N          connected users, each its own token and inbox (default ${ingressDefaults.clients})
  --workers N          loader processes (default ${ingressDefaults.workers})
  --connections N      concurrent HTTP publishers, keep-alive (default ${ingressDefaults.connections})
  --rates a,b,c        publishes per second offered, each to one random user (default ${ingressDefaults.rates.join(',')})
  --steps N            the first N rates of the default ladder
  --step-seconds S     length of each step (default ${ingressDefaults.stepSeconds})
  --max-fails N        stop a system after N failed steps in a row (default ${ingressDefaults.maxFails})
  --warmup-seconds S   a step at the first rate before the measured ones, as fanout (default ${ingressDefaults.warmupSeconds})
  --rounds N           run every system N times, taking turns (ABBA); each goal's ratio is then
                       the median of the rounds' (default ${ingressDefaults.rounds})
  --interleave         set every system up first, then take turns at every rate (lib/interleave.js:
                       a slow minute of a vCPU falls on every system's step of that rate)
  --only LIST          systems to run, in order, from: ${Object.keys(INGRESS_SYSTEMS).join(', ')} (default all)
  --parse scan|json    how loaders read msg frames (default scan)
  --server-cpu C       pin every server's main thread to CPU C: auto (the fastest by a short loop,
                       default), a number, or none (lib/cpu-pin.js: this VM's CPUs differ ~1.5×)
  --cpu-prof           write V8 CPU profiles of the servers and the HTTP load process to bench/results/prof/
  --max-minutes M      hard stop for the whole run (default 4 + 6 per round)
storm flags:
  --clients N          clients, each a user on its inbox and on room:all (default ${stormDefaults.clients})
  --workers N          loader processes (default ${stormDefaults.workers})
  --inbox-rate N       inbox messages per second over HTTP, each to one random user (default ${stormDefaults.inboxRate})
  --room-rate R        messages per second on room:all (default ${stormDefaults.roomRate}; may be fractional)
  --warm-seconds S     publishing before the kill (default ${stormDefaults.warmSeconds})
  --storm-seconds S    give the storm up after S seconds (default ${stormDefaults.stormSeconds})
  --connect-timeout-ms MS   each attempt's connect timeout (default ${stormDefaults.connectTimeoutMs})
  --unreachable-max-delay-ms MS  the clients' backoff cap after an unanswered attempt, as the SDK's
                           reconnect.unreachableMaxDelayMs (default ${stormDefaults.unreachableMaxDelayMs}; 30000: the SDK before it)
  --server-options JSON     server options over the defaults, e.g. '{"listenBacklog":511}'
  --cpu-prof           write a V8 CPU profile of the restarted server to bench/results/prof/
  --max-minutes M      hard stop for the whole run (default 6)

idle flags:
  --clients N          connected users, each its own token and inbox (default ${idleDefaults.clients})
  --workers N          loader processes (default ${idleDefaults.workers})
  --settle-seconds S   idle time after the last connect, before measuring (default ${idleDefaults.settleSeconds})
  --only LIST          systems, in order, from: ${Object.keys(IDLE_SYSTEMS).join(', ')} (default ${IDLE_DEFAULT_SYSTEMS.join(',')})
  --heap-snapshot      write each server's V8 heap snapshot to bench/results/idle-<system>.heapsnapshot
  --deflate            Tether with perMessageDeflate on (what compression adds to an idle connection)
  --stats              then time GET /v1/stats (Tether, with an admin key) at that many sockets, and its size
  --halves             connect in two halves; also print what the second half added per connection
  --max-minutes M      hard stop for the whole run (default 5)

deflate flags:
  --clients N          clients on one channel, in the bench process (default ${deflateDefaults.clients})
  --rate N             messages per second (default ${deflateDefaults.rate})
  --seconds S          length of the publishing step (default ${deflateDefaults.seconds})
  --only LIST          settings, in order, from: ${Object.keys(DEFLATE_SETTINGS).join(', ')} (default all)
  --max-minutes M      hard stop for the whole run (default 5)

presence flags:
  --sizes a,b,c        channel sizes, one fresh server each (default ${presenceDefaults.sizes.join(',')})
  --workers N          loader processes (default ${presenceDefaults.workers})
  --join-seconds S     the clients of a size join spread over S seconds (default ${presenceDefaults.joinSeconds})
  --cpu-prof           write V8 CPU profiles of each size's server and loaders to bench/results/prof/
  --max-minutes M      hard stop for the whole run (default 5)

metrics flags:
  --part P             ${METRICS_PARTS.join('|')} (default ${metricsDefaults.part}):
                       fanout / inbox: both settings' servers side by side, steps alternating,
                       server CPU per delivered message; ladder-*: throughput ladders per setting
  --rounds N           paired: alternating rounds, one step per setting each (default ${metricsDefaults.paired.rounds})
  --paired-clients N   paired: clients on each server (default ${metricsDefaults.paired.clients})
  --runs N             ladders: runs per setting, alternating off and on (default ${metricsDefaults.runs})
  --clients N          ladders: clients (default ${metricsDefaults.fanout.clients})
  --fanout-rates a,b   fan-out ladder, msg/s on one channel (default ${metricsDefaults.fanout.rates.join(',')})
  --inbox-rates a,b    inbox ladder, msg/s to random inboxes (default ${metricsDefaults.inbox.rates.join(',')})
  --step-seconds S     length of each step (default ${metricsDefaults.fanout.stepSeconds})
  --max-minutes M      hard stop for the whole run (default 10)
`;
