/**
 * What the run must show, checked on what each party actually saw: the staff screens' handled
 * orders, the refusals, the back-office's staff directory and ops inbox, Tether's HTTP answers.
 * Prints one line per check and returns them with the figures (the run's SUMMARY).
 */

/** An order event as a screen shows it (the offset is the feed's, from the publish answer). */
const line = ({ offset, type, id, orderId, status }) =>
  `#${offset} ${type ?? (status ? 'order:status' : 'order:placed')} ${orderId ?? id}${status ? ` ${status}` : ''}`;

export function checkRun({ stores, published, staff, backoffice, presence, intrusion, forgedStatus }) {
  const checks = {};
  const check = (name, pass, detail = '') => {
    checks[name] = pass;
    console.log(`  ${pass ? 'ok  ' : 'FAIL'} ${name}${detail ? `: ${detail}` : ''}`);
  };
  const feedOf = (store) => `store:${store.id}:orders`;
  const expected = (store) => published[store.id].map(line);
  const handledOn = (member, channel) => member.handled.filter((h) => h.channel === channel).map(line);
  const [ann, , cara, dave] = staff;
  const [storeA, storeB] = stores;

  console.log('\n== checks');
  for (const store of stores) {
    const offsets = published[store.id].map((p) => p.offset);
    check(`log of ${feedOf(store)} is 1..${offsets.length}`, offsets.every((offset, i) => offset === i + 1));
  }
  for (const member of staff) {
    const got = handledOn(member, feedOf(member.store));
    const want = expected(member.store);
    check(
      `${member.name} got ${feedOf(member.store)} once, in order`,
      JSON.stringify(got) === JSON.stringify(want),
      `${got.length}/${want.length}`,
    );
    const foreign = member.handled.filter((h) => !h.orderId.startsWith(member.store.id.toUpperCase()));
    check(`${member.name} saw no other store's order`, foreign.length === 0, foreign.map(line).join(', '));
  }
  const annRefused = ann.refusals.find((r) => r.channel === feedOf(storeB));
  check("ann's subscribe to store B's feed is refused", annRefused?.code === 'forbidden', annRefused?.code);
  check(
    "dave's too-broad token still sees nothing of store B",
    handledOn(dave, feedOf(storeB)).length === 0 && !dave.refusals.some((r) => r.channel === feedOf(storeB)),
  );
  check(
    "store A's key cannot publish into store B",
    intrusion.status === 403 && intrusion.code === 'forbidden',
    `${intrusion.status} ${intrusion.code}`,
  );
  check(
    "store A's key cannot see store B's staff",
    presence.caraByA.status === 'offline' && presence.caraByA.lastSeen === null && presence.caraByB.status === 'online',
  );
  const lastActiveAt = Object.fromEntries(
    staff.map((member) => [`${member.store.tenant}/${member.name}`, backoffice.lastActiveAt(member.store.tenant, member.name)]),
  );
  check('lastActiveAt recorded for every member', Object.values(lastActiveAt).every(Number.isFinite));
  check(
    'presence route shows ann online with a lastSeen',
    presence.annByA.status === 'online' && Number.isFinite(presence.annByA.lastSeen),
  );
  const [alert] = backoffice.alerts;
  check(
    'one node.down alert for node-2, sent by node-1, signature valid',
    backoffice.alerts.length === 1 &&
      alert.type === 'alert.node.down' &&
      alert.subject === 'node-2' &&
      alert.node === 'node-1' &&
      alert.signatureValid,
    backoffice.alerts.map((a) => `${a.type} ${a.subject} from ${a.node}`).join(', '),
  );
  check('a forged alert is refused', forgedStatus === 401 && backoffice.refusedAlerts.length === 1);

  const summary = {
    checks,
    published: Object.fromEntries(stores.map((store) => [store.id, expected(store)])),
    handled: Object.fromEntries(staff.map((member) => [member.name, member.handled.map((h) => `${h.channel} ${line(h)}`)])),
    refusals: Object.fromEntries(staff.map((member) => [member.name, member.refusals])),
    intrusion,
    presence,
    lastActiveAt,
    alerts: backoffice.alerts,
    refusedAlerts: backoffice.refusedAlerts,
    forgedStatus,
  };
  void storeA;
  void cara;
  return { ok: Object.values(checks).every(Boolean), summary };
}
