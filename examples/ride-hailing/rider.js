/* global fetch */
/**
 * The other side of the market, as the backend sees it: riders request and cancel trips, move
 * (their location goes to the driver heading their way), and other drivers take trips. Everything
 * goes through the backend's HTTP routes, as an app's backend would get it.
 */
export function riderSimulator(backendUrl, driverId) {
  const post = async (path, body) => {
    const response = await fetch(`${backendUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, driverId }),
    });
    if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    return response.json();
  };
  return {
    requestTrip: (tripId) => post('/trips', { tripId }),
    cancelTrip: (tripId) => post('/trips/cancel', { tripId }),
    tripTakenByAnother: (tripId) => post('/trips/taken', { tripId }),
    moveRider: (riderId, n) => post('/riders/location', { riderId, n }),
  };
}
