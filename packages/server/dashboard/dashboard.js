/*
 * The Tether dashboard: samples GET /v1/stats (the cluster's figures, bounded in size) every few
 * seconds with the admin key, and asks GET /v1/trace for the trace box. Plain script, no build
 * step; charts by uPlot (served by the server itself). Everything the server sends is shown with
 * textContent, never as HTML.
 */
/* global uPlot, document, window, sessionStorage, fetch, FormData, URLSearchParams */
'use strict';

const KEY_STORAGE = 'tether.adminKey';
const POLL_MS = 2000;
/** Points kept per chart (10 minutes at POLL_MS). */
const HISTORY = 300;

const $ = (id) => document.getElementById(id);
const number = new Intl.NumberFormat('en', { maximumFractionDigits: 1 });
const fmt = (value) => (value === null || value === undefined ? '–' : number.format(value));
const ms = (value) => (value === null || value === undefined ? '–' : `${number.format(value)} ms`);
const sum = (record) => Object.values(record || {}).reduce((a, b) => a + b, 0);

let timer;
let charts;
const series = {
  t: [],
  published: [],
  delivered: [],
  acked: [],
  redelivered: [],
  missed: [],
  resyncs: [],
  connections: [],
};

function adminKey() {
  return sessionStorage.getItem(KEY_STORAGE);
}

async function call(path) {
  const response = await fetch(path, { headers: { authorization: `Bearer ${adminKey()}` }, cache: 'no-store' });
  const body = await response.json().catch(() => ({}));
  if (response.status === 401) {
    signOut((body.error && body.error.message) || 'the admin key was refused');
    throw new Error('unauthorized');
  }
  if (!response.ok)
    throw new Error((body.error && `${body.error.code}: ${body.error.message}`) || `HTTP ${response.status}`);
  return body;
}

function signOut(reason) {
  clearTimeout(timer);
  sessionStorage.removeItem(KEY_STORAGE);
  $('board').hidden = true;
  $('login').hidden = false;
  $('sign-out').hidden = true;
  $('status').textContent = 'signed out';
  $('login-error').textContent = reason || '';
}

function signedIn() {
  $('login').hidden = true;
  $('board').hidden = false;
  $('sign-out').hidden = false;
  charts = charts || makeCharts();
  void poll();
}

function makeCharts() {
  const make = (id, names) => {
    const el = $(id);
    const colors = ['#2a7ab0', '#2a9d5b', '#d08a1e', '#c0392b', '#8e44ad'];
    return new uPlot(
      {
        width: Math.max(320, el.clientWidth || 420),
        height: 200,
        series: [{}, ...names.map((label, i) => ({ label, stroke: colors[i % colors.length], width: 1.5 }))],
        axes: [{}, { size: 60 }],
      },
      [[], ...names.map(() => [])],
      el,
    );
  };
  return {
    rates: make('chart-rates', ['published/s', 'delivered/s', 'acked/s']),
    problems: make('chart-problems', ['redelivered/s', 'missed/s', 'resyncs/s']),
    connections: make('chart-connections', ['connections']),
  };
}

async function poll() {
  clearTimeout(timer);
  try {
    render(await call('/v1/stats'));
    $('status').textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (err) {
    if (err.message === 'unauthorized') return;
    $('status').textContent = `stats failed: ${err.message}`;
  }
  timer = setTimeout(poll, POLL_MS);
}

function render(stats) {
  const t = stats.total;
  const c = t.counters;
  $('fig-connections').textContent = fmt(t.connections);
  $('fig-subscriptions').textContent = fmt(t.subscriptions);
  $('fig-active-channels').textContent = fmt(t.activeChannels);
  $('fig-nodes').textContent = `${t.nodes}${stats.complete ? '' : ' (some missing)'}`;
  $('fig-published').textContent = fmt(c.published);
  $('fig-delivered').textContent = fmt(c.delivered.live + c.delivered.replay + c.delivered.http);
  $('fig-acked').textContent = fmt(c.acked);
  $('fig-unacked').textContent = fmt(t.unacked);
  $('fig-redelivered').textContent = fmt(c.redelivered);
  $('fig-missed').textContent = fmt(c.missed);
  $('fig-resyncs').textContent = fmt(c.resyncs);
  $('fig-rate-limited').textContent = fmt(sum(c.rateLimited));
  $('fig-dropped').textContent = fmt(sum(c.dropped));
  $('fig-delivered').title = `live ${c.delivered.live}, replay ${c.delivered.replay}, http ${c.delivered.http}`;
  const d = t.delivery;
  $('fig-success').textContent =
    d && d.ackedWithin.ratio !== null
      ? `${number.format(d.ackedWithin.ratio * 100)} % within ${d.ackedWithin.windowMs / 1000} s`
      : '–';
  $('fig-ack-latency').textContent = d
    ? `${ms(d.publishToAckMs.p50)} / ${ms(d.publishToAckMs.p90)} / ${ms(d.publishToAckMs.p99)}`
    : '–';

  push(stats.at / 1000, t);
  rows(
    'nodes',
    stats.nodes.map((n) => [
      n.nodeId,
      fmt(n.connections),
      fmt(n.subscriptions),
      fmt(n.rates.published),
      fmt(n.rates.delivered),
      fmt(n.rates.acked),
      fmt(n.unacked),
      `${Math.max(0, Math.round((stats.at - n.at) / 1000))} s ago`,
    ]),
  );
  rows(
    'tenants',
    Object.entries(t.connectionsByTenant).map(([tenant, n]) => [tenant, fmt(n)]),
  );
  rows(
    'backlog',
    t.topBacklog.map((b) => [b.tenant, b.channel, fmt(b.unacked), fmt(b.behind)]),
  );
  const p = c.push;
  rows('push', [
    ['candidates', fmt(p.candidates)],
    ['suppressed: acked in time', fmt(p.suppressedByAck)],
    ['suppressed: no longer relevant', fmt(p.suppressedByRelevance)],
    ['no target', fmt(p.noTarget)],
    ['retries', fmt(p.retries)],
    ...Object.entries(p.sent).map(([provider, n]) => [`sent (${provider})`, fmt(n)]),
    ...Object.entries(p.failed).map(([provider, n]) => [`failed (${provider})`, fmt(n)]),
    ...Object.entries(p.gone).map(([provider, n]) => [`gone (${provider})`, fmt(n)]),
  ]);
  $('presence-box').hidden = !t.presence;
  if (t.presence)
    rows(
      'presence',
      Object.entries(t.presence).map(([name, n]) => [name, fmt(n)]),
    );
  $('alerts-box').hidden = !stats.alerts;
  if (stats.alerts) {
    rows(
      'alerts',
      stats.alerts.map((a) => [new Date(a.at).toLocaleString(), a.event, a.message || '']),
    );
  }
}

function push(at, t) {
  const r = t.rates;
  const values = {
    t: at,
    published: r.published,
    delivered: r.delivered,
    acked: r.acked,
    redelivered: r.redelivered,
    missed: r.missed,
    resyncs: r.resyncs,
    connections: t.connections,
  };
  for (const [name, value] of Object.entries(values)) {
    series[name].push(value);
    if (series[name].length > HISTORY) series[name].shift();
  }
  charts.rates.setData([series.t, series.published, series.delivered, series.acked]);
  charts.problems.setData([series.t, series.redelivered, series.missed, series.resyncs]);
  charts.connections.setData([series.t, series.connections]);
}

/** Replaces a table's body with these rows of text. */
function rows(tableId, data) {
  const body = $(tableId).tBodies[0];
  body.replaceChildren(
    ...data.map((cells) => {
      const tr = document.createElement('tr');
      for (const text of cells) {
        const td = document.createElement('td');
        td.textContent = String(text);
        tr.append(td);
      }
      return tr;
    }),
  );
}

async function trace(event) {
  event.preventDefault();
  const form = new FormData($('trace-form'));
  const query = new URLSearchParams({
    tenant: String(form.get('tenant') || 'default'),
    sub: String(form.get('sub')),
    channel: String(form.get('channel')),
  });
  $('trace-summary').textContent = 'asking…';
  try {
    const answer = await call(`/v1/trace?${query}`);
    $('trace-summary').textContent =
      `${answer.channel}: head ${answer.head} (epoch ${answer.epoch}); highest ack of the user ${answer.userAcked}; ` +
      `${answer.devices.length} device(s)${answer.complete ? '' : ' — some node did not answer'}`;
    rows(
      'trace',
      answer.devices.map((d) => [
        d.deviceId,
        d.nodeId,
        d.connected ? 'connected' : `last seen ${new Date(d.lastSeenAt).toLocaleString()}`,
        d.subscribed ? 'yes' : 'no',
        fmt(d.acked),
        fmt(d.behind),
        fmt(d.unacked),
        fmt(d.missed),
        fmt(d.redeliveries),
      ]),
    );
  } catch (err) {
    if (err.message !== 'unauthorized') $('trace-summary').textContent = `trace failed: ${err.message}`;
  }
}

$('login-form').addEventListener('submit', (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY_STORAGE, $('admin-key').value.trim());
  $('admin-key').value = '';
  $('login-error').textContent = '';
  signedIn();
});
$('sign-out').addEventListener('click', () => signOut());
$('trace-form').addEventListener('submit', trace);
window.addEventListener('load', () => {
  if (adminKey()) signedIn();
});
