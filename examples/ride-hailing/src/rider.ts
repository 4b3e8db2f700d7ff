/**
 * The other side of the market, as the backend sees it: riders request and cancel trips, move
 * (their location goes to the driver heading their way), and other drivers take trips. Everything
 * goes through the backend's HTTP routes (the trips controller), as an app's backend would get it.
 */
export interface RiderSimulator {
  requestTrip(tripId: string): Promise<unknown>;
  cancelTrip(tripId: string): Promise<unknown>;
  tripTakenByAnother(tripId: string): Promise<unknown>;
  /** The rider's payment failed: dispatch withdraws the offer (no event to the driver). */
  paymentFailed(tripId: string): Promise<unknown>;
  moveRider(riderId: string, n: number): Promise<unknown>;
}

export function riderSimulator(backendUrl: string, driverId: string): RiderSimulator {
  const post = async (path: string, body: Record<string, unknown>): Promise<unknown> => {
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
    paymentFailed: (tripId) => post('/trips/withdraw', { tripId }),
    moveRider: (riderId, n) => post('/riders/location', { riderId, n }),
  };
}
