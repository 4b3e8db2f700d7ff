/**
 * What the alerts module raises and keeps: an event (what happened, to what), and the record of
 * it on this node (when, by which node, whether this node sent it, what each target answered).
 */

/** The events (docs/operations.md, "Alerts"). */
export type AlertKind =
  'node.down' | 'node.up' | 'store.down' | 'store.up' | 'delivery.ratio_low' | 'missed.spike' | 'slow_consumers.spike';

export type AlertSeverity = 'critical' | 'warning' | 'info';

export interface AlertEvent {
  kind: AlertKind;
  severity: AlertSeverity;
  /** What it is about (a node id), part of its cooldown key; none for cluster-wide events. */
  subject?: string;
  /** One line, e.g. `Tether node n2 is down`. */
  title: string;
  /** A sentence or two. */
  text: string;
  /** Figures shown beside it (live nodes, ratio, window…). */
  fields: Readonly<Record<string, string | number>>;
}

/** How one target took the alert. */
export interface TargetResult {
  target: string;
  ok: boolean;
  attempts: number;
  error?: string;
}

export interface AlertRecord extends AlertEvent {
  /** Unique per alert; the signed webhook's `webhook-id` (the same on every retry). */
  id: string;
  /** The cooldown and dedupe key: `kind` or `kind:subject`. */
  key: string;
  /** When it was raised, ms since the epoch. */
  at: number;
  /** The node that raised it (its cluster id, or the host name on a single node). */
  node: string;
  /**
   * `sent`: this node won the claim and delivered it; `suppressed`: the key was claimed within the
   * cooldown (by this node or another one), so nothing was sent from here.
   */
  status: 'sent' | 'suppressed';
  /** Filled in as the targets answer (empty while in flight, and for `suppressed`). */
  results: TargetResult[];
}

/** One attempt's outcome: sent, worth a retry (after `afterMs` when the target said), or failed for good. */
export type SendOutcome =
  | { result: 'sent' }
  | { result: 'retry'; afterMs?: number | undefined; error: string }
  | { result: 'failed'; error: string };

/** A place alerts go to (Discord, Slack, a signed webhook, email). One attempt per call; never throws. */
export interface AlertTarget {
  readonly name: string;
  send(alert: AlertRecord, timeoutMs: number): Promise<SendOutcome>;
  close?(): void;
}
