import { Counter, Gauge, type Registry } from 'prom-client';

type Labels = Record<string, string>;
/** Reports each series' current value: `emit(labels, value)`, or `emit(value)` for an unlabelled metric. */
export type Reader = (emit: (labelsOrValue: Labels | number, value?: number) => void) => void | Promise<void>;

/**
 * A counter read at scrape time from a value the server already keeps (the StatsCounter): the
 * delivery code pays nothing for it. Each scrape replaces the series with what `read` reports.
 */
export function scrapedCounter(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: Reader,
): void {
  const counter: Counter = new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect: () => {
      counter.reset();
      return read((labels, value) => {
        if (typeof labels === 'number') counter.inc(labels);
        else counter.inc(labels, value ?? 0);
      });
    },
  });
}

/** A gauge read at scrape time. */
export function scrapedGauge(registry: Registry, name: string, help: string, labelNames: string[], read: Reader): void {
  const gauge: Gauge = new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect: () => {
      gauge.reset();
      return read((labels, value) => {
        if (typeof labels === 'number') gauge.set(labels);
        else gauge.set(labels, value ?? 0);
      });
    },
  });
}
