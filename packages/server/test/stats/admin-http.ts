/** GET with an optional bearer credential: the status and the JSON body. */
export async function getJson(
  url: string,
  credential?: string,
): Promise<{ status: number; body: Record<string, unknown> & { error?: { code: string; message: string } } }> {
  const response = await fetch(
    url,
    credential === undefined ? {} : { headers: { authorization: `Bearer ${credential}` } },
  );
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
