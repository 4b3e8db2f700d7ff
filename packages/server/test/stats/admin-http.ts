/** GET with an optional bearer credential: the status and the JSON body (`{}` when the body is not JSON). */
export async function getJson(
  url: string,
  credential?: string,
): Promise<{ status: number; body: Record<string, unknown> & { error?: { code: string; message: string } } }> {
  const response = await fetch(
    url,
    credential === undefined ? {} : { headers: { authorization: `Bearer ${credential}` } },
  );
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // A refusal before the API (a header too large) has no JSON body.
  }
  return { status: response.status, body };
}
