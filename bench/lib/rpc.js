/**
 * Request/response over the IPC channel of forked children, and the bookkeeping that makes sure
 * every child the bench starts is killed by PID when the bench ends (normally, on error, on SIGINT).
 */
import v8 from 'node:v8';
import { readFileSync } from 'node:fs';
import { fork } from 'node:child_process';
import { Session } from 'node:inspector';

/** @type {Set<import('node:child_process').ChildProcess>} */
const children = new Set();
let hooksInstalled = false;

function killAll() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  children.clear();
}

function installHooks() {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      console.error(`\n${sig}: stopping children ${[...children].map((c) => c.pid).join(', ')}`);
      killAll();
      process.exit(130);
    });
  }
}

/** A forked child that answers `{id, cmd, args}` with `{id, ok, result | error}`. */
export class Child {
  /**
   * @param {string} script
   * @param {{args?: string[], execArgv?: string[], name?: string, env?: NodeJS.ProcessEnv}} [opts]
   */
  constructor(script, opts = {}) {
    installHooks();
    this.name = opts.name ?? script;
    this.proc = fork(script, opts.args ?? [], {
      execArgv: opts.execArgv ?? [],
      env: opts.env ?? process.env,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.add(this.proc);
    this.pid = this.proc.pid;
    this.nextId = 1;
    /** @type {Map<number, {resolve: (v: any) => void, reject: (e: Error) => void, timer: NodeJS.Timeout}>} */
    this.pending = new Map();
    /** @type {((msg: any) => void) | null} */
    this.onEvent = null;
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        children.delete(this.proc);
        for (const p of this.pending.values()) {
          clearTimeout(p.timer);
          p.reject(new Error(`${this.name} (pid ${this.pid}) exited (${code ?? signal})`));
        }
        this.pending.clear();
        resolve({ code, signal });
      });
    });
    this.proc.on('message', (msg) => {
      if (msg && typeof msg === 'object' && 'id' in msg) {
        const p = this.pending.get(msg.id);
        if (p === undefined) return;
        this.pending.delete(msg.id);
        clearTimeout(p.timer);
        if (msg.ok) p.resolve(msg.result);
        else p.reject(new Error(`${this.name}: ${msg.error}`));
      } else this.onEvent?.(msg);
    });
  }

  /** Waits for the first unsolicited message with `type`. */
  waitFor(type, timeoutMs = 30_000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: no "${type}" within ${timeoutMs} ms`)), timeoutMs);
      const prev = this.onEvent;
      this.onEvent = (msg) => {
        if (msg?.type === type) {
          clearTimeout(timer);
          this.onEvent = prev;
          resolve(msg);
        } else prev?.(msg);
      };
      this.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited (${code ?? signal}) before "${type}"`));
      });
    });
  }

  /** @returns {Promise<any>} */
  call(cmd, args = {}, timeoutMs = 30_000) {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: "${cmd}" timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.proc.send({ id, cmd, args });
    });
  }

  /** Asks the child to exit (so that e.g. `--cpu-prof` is written), then kills it by PID. */
  async stop(graceMs = 5000) {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.call('exit', {}, graceMs).catch(() => undefined);
    const timer = setTimeout(() => {
      if (this.pid !== undefined && this.proc.exitCode === null) {
        try {
          process.kill(this.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }, graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/**
 * Child side: answers requests with the given handlers. `exit` is built in. The child exits when
 * its parent goes away (IPC disconnect) and after `maxLifeMs` in any case.
 * @param {Record<string, (args: any) => any>} handlers
 */
export function serve(handlers, maxLifeMs = 20 * 60_000) {
  process.on('disconnect', () => process.exit(0));
  setTimeout(() => {
    console.error(`pid ${process.pid}: max life of ${maxLifeMs} ms reached, exiting`);
    process.exit(2);
  }, maxLifeMs).unref();
  process.on('message', async (msg) => {
    const { id, cmd, args } = msg;
    if (cmd === 'exit') {
      try {
        await handlers.exit?.(args);
      } finally {
        process.send?.({ id, ok: true, result: null });
        setTimeout(() => process.exit(0), 20);
      }
      return;
    }
    const handler = handlers[cmd] ?? builtIns[cmd];
    try {
      if (handler === undefined) throw new Error(`unknown command ${cmd}`);
      const result = await handler(args);
      process.send?.({ id, ok: true, result });
    } catch (err) {
      process.send?.({ id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    }
  });
}

/** @type {Session | null} An in-process inspector session (no port), opened at the first `reduceMemory`. */
let inspectorSession = null;

/** Commands every child answers unless its handlers define them (scenario `idle`). */
const builtIns = {
  /**
   * V8's most thorough full GC, the one it runs on a low-memory notification (the inspector's
   * `HeapProfiler.collectGarbage`): besides what `gc()` frees, it shrinks the young generation to
   * its minimum and gives its pages back. `gc()` leaves that area (up to 2 × 16 MB) at whatever
   * size V8's heuristics last gave it, which is not set by what the process holds.
   */
  reduceMemory() {
    if (inspectorSession === null) {
      inspectorSession = new Session();
      inspectorSession.connect();
    }
    const session = inspectorSession;
    return new Promise((resolve, reject) =>
      session.post('HeapProfiler.collectGarbage', (err) =>
        err ? reject(err) : resolve({ heapUsed: process.memoryUsage().heapUsed, rss: process.memoryUsage.rss() }),
      ),
    );
  },
  /** V8 heap in use, after a full GC when the process runs with --expose-gc. */
  heapUsed() {
    const gc = /** @type {any} */ (globalThis).gc;
    if (typeof gc === 'function') gc();
    return { heapUsed: process.memoryUsage().heapUsed, rss: process.memoryUsage.rss() };
  },
  /**
   * Where the RSS is (call after `gc`): the process's anonymous and file-backed resident memory
   * (/proc/self/status, Linux), V8's committed heap by space, and memory outside the V8 heap.
   */
  memoryDetail() {
    const { heapTotal, external, arrayBuffers } = process.memoryUsage();
    const spaces = Object.fromEntries(
      v8
        .getHeapSpaceStatistics()
        .map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size, physical: s.physical_space_size }]),
    );
    /** @type {Record<string, number>} */
    const status = {};
    try {
      for (const line of readFileSync('/proc/self/status', 'utf8').split('\n')) {
        const m = /^(RssAnon|RssFile|RssShmem|VmRSS|VmHWM):\s+(\d+) kB/.exec(line);
        if (m) status[m[1]] = Number(m[2]) * 1024;
      }
    } catch {
      // not Linux: V8's figures only
    }
    return { heapTotal, external, arrayBuffers, spaces, status };
  },
  /** @param {{file: string}} args */
  heapSnapshot(args) {
    return { file: v8.writeHeapSnapshot(args.file) };
  },
};

/** CPU time (user + system) of this process in ms, and its RSS in bytes. */
export function usage() {
  const cpu = process.cpuUsage();
  return {
    cpuMs: (cpu.user + cpu.system) / 1000,
    rss: process.memoryUsage.rss(),
    at: performance.now() + performance.timeOrigin,
  };
}
