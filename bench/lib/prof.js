/**
 * Node flags for a V8 CPU profile of a bench process (`--cpu-prof`), written to
 * `<resultsDir>prof/<name>-<stamp>.cpuprofile`; none when profiling is off.
 * @param {{cpuProf?: boolean, resultsDir: string, stamp: string}} opts
 * @param {string} name
 * @returns {string[]}
 */
export const profArgs = (opts, name) =>
  opts.cpuProf
    ? ['--cpu-prof', '--cpu-prof-dir', `${opts.resultsDir}prof`, '--cpu-prof-name', `${name}-${opts.stamp}.cpuprofile`]
    : [];
