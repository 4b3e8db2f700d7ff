/* global fetch */
/**
 * A store's own backend (its till, its web shop): it publishes each new order and each status
 * change to the store's orders feed over Tether's HTTP API, with the store's API key. The key is
 * good for the store's tenant only, so the backend never names a tenant: the key decides it.
 * Each publish has an `id` (order and event), so a retry after a lost answer appends nothing twice.
 */
export function storeBackend(store, tetherUrl, { log = console.log } = {}) {
  const feed = `store:${store.id}:orders`;
  const post = (body) =>
    fetch(`${tetherUrl}/v1/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${store.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const publish = async (type, data, id) => {
    const res = await post({ channel: feed, type, data, id });
    const answer = await res.json();
    if (!res.ok) throw new Error(`publish ${id} refused: ${res.status} ${answer.error?.code}`);
    log(
      `  ${store.id} backend  -> ${feed} #${answer.offset} ${type} ${data.orderId}${data.status ? ` ${data.status}` : ''}`,
    );
    return answer;
  };
  return {
    feed,
    orderPlaced: (orderId, total) => publish('order:placed', { orderId, total }, `${orderId}:placed`),
    statusChanged: (orderId, status) => publish('order:status', { orderId, status }, `${orderId}:${status}`),
    /** What Tether answers when this store's key tries to publish into another tenant. */
    async tryPublishAs(tenant, channel) {
      const res = await post({ channel, tenant, type: 'order:placed', data: { orderId: 'INTRUDER' } });
      return { status: res.status, code: (await res.json()).error?.code };
    },
    /** What Tether answers when this store's key asks about a user (its tenant's view only). */
    async presenceOf(sub) {
      const res = await fetch(`${tetherUrl}/v1/presence/users/${encodeURIComponent(sub)}`, {
        headers: { authorization: `Bearer ${store.apiKey}` },
      });
      return res.json();
    },
  };
}
