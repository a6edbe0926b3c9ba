/** Reads a calendar collection straight from the server (not through the counting proxy). */
export async function readCalendar(collectionUrl: string, auth: { username: string; password: string }): Promise<Map<string, string>> {
  const headers = { authorization: 'Basic ' + Buffer.from(`${auth.username}:${auth.password}`).toString('base64') };
  const res = await fetch(collectionUrl, { method: 'PROPFIND', headers: { ...headers, depth: '1', 'content-type': 'application/xml' }, body: '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>' });
  if (res.status !== 207) throw new Error(`PROPFIND ${collectionUrl}: ${res.status}`);
  const xml = await res.text();
  const hrefs = [...xml.matchAll(/<(?:\w+:)?href>([^<]+)<\/(?:\w+:)?href>/g)].map((m) => m[1]!).filter((h) => h.endsWith('.ics'));
  const out = new Map<string, string>();
  for (const href of hrefs) {
    const url = new URL(href, collectionUrl).href;
    const obj = await fetch(url, { headers });
    if (obj.ok) out.set(url, await obj.text());
  }
  return out;
}
