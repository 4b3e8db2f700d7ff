/**
 * Ratios over rounds (`fanout --rounds N`): each round compares Tether with plain Socket.IO once;
 * the figures that decide a goal are the medians of the rounds' ratios, so one round on a box that
 * was busier for one of the two does not decide it.
 */

/**
 * Runs `count` rounds of every system in `names`, in ABBA order (the list, then reversed, …), so a
 * box that grows busier over the run weighs on every system alike; each round's results come back
 * in the order of `names`, to `report`, whose outcome is collected per round.
 * @template {{system: string}} R, O
 * @param {number} count
 * @param {string[]} names
 * @param {(name: string) => Promise<R>} runOne
 * @param {(results: R[]) => O} report
 * @returns {Promise<O[]>}
 */
export function runRounds(count, names, runOne, report) {
  return runEachRound(
    count,
    names,
    async (order) => {
      const results = [];
      for (const name of order) results.push(await runOne(name));
      return results;
    },
    report,
  );
}

/**
 * `runRounds` with a round run as one piece: `runRound` gets the round's order of `names` (ABBA)
 * and answers every system's result (lib/interleave.js takes turns within the round).
 * @template {{system: string}} R, O
 * @param {number} count
 * @param {string[]} names
 * @param {(order: string[]) => Promise<R[]>} runRound
 * @param {(results: R[]) => O} report
 * @returns {Promise<O[]>}
 */
export async function runEachRound(count, names, runRound, report) {
  const rounds = [];
  for (let k = 0; k < count; k++) {
    if (count > 1) console.log(`\nround ${k + 1} of ${count}`);
    const order = k % 2 === 1 ? [...names].reverse() : names;
    const results = await runRound(order);
    results.sort((a, b) => names.indexOf(a.system) - names.indexOf(b.system));
    rounds.push(report(results));
  }
  return rounds;
}

/**
 * Tether's p50 and p99 over plain's at every rate both kept up with (the first step of a rate).
 * @param {{steps: Array<{rate: number, keptUp: boolean, p50: number, p99: number}>}} tether
 * @param {{steps: Array<{rate: number, keptUp: boolean, p50: number, p99: number}>}} plain
 * @returns {Record<string, {p50Ratio: number | null, p99Ratio: number | null, tether: number, socketio: number}>}
 */
export function latencyByRate(tether, plain) {
  /** @type {Record<string, {p50Ratio: number | null, p99Ratio: number | null, tether: number, socketio: number}>} */
  const out = {};
  for (const t of tether.steps) {
    const p = plain.steps.find((x) => x.rate === t.rate);
    if (!t.keptUp || !p?.keptUp || String(t.rate) in out) continue;
    out[t.rate] = {
      p50Ratio: p.p50 ? t.p50 / p.p50 : null,
      p99Ratio: p.p99 ? t.p99 / p.p99 : null,
      tether: t.p50,
      socketio: p.p50,
    };
  }
  return out;
}

/**
 * Medians over rounds: of the kept-up ratio (null unless every round has one), and, per rate both
 * systems kept up with in every compared round, of the p50 and p99 ratios. A round is compared
 * when both systems kept up some step (its ratio is not null).
 * @param {Array<{deliveredRatio: number, latencyByRate?: ReturnType<typeof latencyByRate>} | null>} ratios
 */
export function medianRatios(ratios) {
  const all = /** @type {Array<{deliveredRatio: number, latencyByRate?: ReturnType<typeof latencyByRate>}>} */ (
    ratios.filter((r) => r !== null)
  );
  const rates = Object.keys(all[0]?.latencyByRate ?? {}).filter((rate) =>
    all.every((r) => rate in (r.latencyByRate ?? {})),
  );
  /** @type {Record<string, {p50Ratio: number | null, p99Ratio: number | null, rounds: Array<{tether: number, socketio: number}>}>} */
  const latency = {};
  for (const rate of rates) {
    const per = all.map((r) => /** @type {ReturnType<typeof latencyByRate>} */ (r.latencyByRate)[rate]);
    latency[rate] = {
      p50Ratio: median(per.map((x) => x.p50Ratio)),
      p99Ratio: median(per.map((x) => x.p99Ratio)),
      rounds: per.map((x) => ({ tether: x.tether, socketio: x.socketio })),
    };
  }
  return {
    rounds: ratios.length,
    roundsCompared: all.length,
    deliveredRatio: all.length === ratios.length ? median(all.map((r) => r.deliveredRatio)) : null,
    latency,
  };
}

/**
 * The median of the finite values (the mean of the middle two for an even count); null for none.
 * @param {Array<number | null>} values
 * @returns {number | null}
 */
export function median(values) {
  const v = /** @type {number[]} */ (values.filter((x) => x !== null && Number.isFinite(x))).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/**
 * Each goal's median over rounds (`inbox` and `ingress --rounds N`): `perRound[k]` holds round k's
 * targets that could be computed (both systems kept up some step). A round where the system kept
 * up nothing while its baseline did counts as 0; a round whose baseline kept up nothing gives no
 * ratio (null) and is left out of the median.
 * @template {{system: string, baseline: string, goal: number}} T
 * @param {T[]} goals
 * @param {Array<Array<T & {ratio: number}>>} perRound
 * @param {Array<Set<string>>} [keptUp] per round, the systems that kept up some step
 */
export function medianTargets(goals, perRound, keptUp) {
  return goals.map((g) => {
    const ratios = perRound.map((targets, k) => {
      const t = targets.find((x) => x.system === g.system && x.baseline === g.baseline);
      if (t) return t.ratio;
      return keptUp?.[k]?.has(g.baseline) && !keptUp[k].has(g.system) ? 0 : null;
    });
    const ratio = median(ratios);
    return { ...g, ratios, ratio, met: ratio !== null && ratio >= g.goal };
  });
}
