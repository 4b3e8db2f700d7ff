/**
 * What the run must show, checked on what each party actually saw: the staff screens' handled
 * orders and refusals, the back-office's staff directory and ops inbox, Tether's HTTP answers.
 * Prints one line per check and returns them with the figures (the run's SUMMARY).
 */

/** An order event as a screen shows it; the offset is the feed's (from the publish answer). */
const line = ({ offset, orderId, status }) =>
  `#${offset} ${status ? `order:status ${orderId} ${status}` : `order:placed ${orderId}`}`;

export function checkRun({ stores, published, staff, backoffice, presence, intrusions, forgedStatus }) {
  const checks = {};
  const check = (name, pass, detail = '') => {
    checks[name] = pass;
    console.log(`  ${pass ? 'ok  ' : 'FAIL'} ${name}${detail ? `: ${detail}` : ''}`);
  };
  const feedOf = (store) => `store:${store.id}:orders`;
  const expected = (store) => published[store.id].map(line);
  const handledOn = (member, channel) => member.handled.filter((h) => h.channel === channel).map(line);
  const byName = Object.fromEntries(staff.map((member) => [member.name, member]));

  console.log('\n== checks');
  for (const store of stores) {
    const offsets = published[store.id].map((p) => p.offset);
    check(
      `the log of ${feedOf(store)} is 1..${offsets.length}`,
      offsets.every((offset, i) => offset === i + 1),
    );
  }
  for (const member of staff) {
    const got = handledOn(member, feedOf(member.store));
    const want = expected(member.store);
    const same = JSON.stringify(got) === JSON.stringify(want);
    check(`${member.name} got ${feedOf(member.store)} once, in order`, same, `${got.length}/${want.length}`);
    const foreign = member.handled.filter((h) => !h.orderId.startsWith(member.store.id.toUpperCase()));
    check(`${member.name} saw no other store's order`, foreign.length === 0, foreign.map(line).join(', '));
  }
  for (const [strict, broad] of [
    ['ann', 'dave'],
    ['cara', 'erin'],
  ]) {
    const { store } = byName[strict];
    const other = stores.find((s) => s !== store);
    const refusal = byName[strict].refusals.find((r) => r.channel === feedOf(other));
    check(`${strict}'s subscribe to ${feedOf(other)} is refused`, refusal?.code === 'forbidden', refusal?.code);
    check(
      `${broad}'s too-broad token gets nothing of ${other.tenant}`,
      handledOn(byName[broad], feedOf(other)).length === 0 && byName[broad].refusals.length === 0,
    );
    const intrusion = intrusions[store.id];
    check(
      `${store.tenant}'s key cannot publish into ${other.tenant}`,
      intrusion.status === 403 && intrusion.code === 'forbidden',
      `${intrusion.status} ${intrusion.code}`,
    );
  }
  const knows = (tenant, sub) =>
    presence[tenant][sub].status === 'online' && Number.isFinite(presence[tenant][sub].lastSeen);
  const blind = (tenant, sub) => presence[tenant][sub].status === 'offline' && presence[tenant][sub].lastSeen === null;
  check(
    "each store's key sees its own staff online, with a lastSeen",
    knows('store-a', 'ann') && knows('store-b', 'cara'),
  );
  check("no store's key sees the other's staff", blind('store-a', 'cara') && blind('store-b', 'ann'));
  const lastActiveAt = Object.fromEntries(
    staff.map((member) => [
      `${member.store.tenant}/${member.name}`,
      backoffice.lastActiveAt(member.store.tenant, member.name),
    ]),
  );
  check('lastActiveAt recorded for every member', Object.values(lastActiveAt).every(Number.isFinite));
  const alerts = backoffice.alerts;
  check(
    'one node.down alert for node-2, sent by node-1, signature valid',
    alerts.length === 1 &&
      alerts[0].type === 'alert.node.down' &&
      alerts[0].subject === 'node-2' &&
      alerts[0].node === 'node-1' &&
      alerts[0].signatureValid,
    alerts.map((a) => `${a.type} ${a.subject} from ${a.node}`).join(', '),
  );
  check('a forged alert is refused', forgedStatus === 401 && backoffice.refusedAlerts.length === 1);

  const summary = {
    checks,
    published: Object.fromEntries(stores.map((store) => [store.id, expected(store)])),
    handled: Object.fromEntries(staff.map((m) => [m.name, m.handled.map((h) => `${h.channel} ${line(h)}`)])),
    refusals: Object.fromEntries(staff.map((m) => [m.name, m.refusals])),
    intrusions,
    presence,
    lastActiveAt,
    alerts,
    refusedAlerts: backoffice.refusedAlerts,
    forgedStatus,
  };
  return { ok: Object.values(checks).every(Boolean), summary };
}
