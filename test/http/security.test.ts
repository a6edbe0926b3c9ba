/**
 * Account isolation and secrecy, through the real handlers and the local HTTP API:
 * one account can never read, change or delete another's connection; the app-specific
 * password never appears in a response, a log line or the table in plaintext; the stored
 * ciphertext is bound to its account; bad input never gives a 5xx.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountKey, CONNECTION_SK } from '../../shared/store/table.js';
import { startApiStack, type ApiResponse, type ApiStack } from '../harness/api-stack.js';

const ANN = 'ann@icloud.com';
const ANN_PASSWORD = 'qmzr-vhkt-plwc-ndxa'; // distinctive: any leak is unambiguous
const ANN_PASTED = ' QMZR VHKT PLWC NDXA '; // how a person might paste it
const BOB = 'bob@example.com';
const BOB_PASSWORD = 'jfue-ybgo-wsrq-tlic';
const WRONG = 'kzxw-qpvm-lrty-hbns';
const CAROL = 'carol@example.com'; // not a user of the server: every login is rejected

/** Every form a leaked password could take. */
const secretForms = (password: string, appleId: string) => {
  const letters = password.replace(/-/g, '');
  const basic = Buffer.from(`${appleId}:${password}`).toString('base64');
  return [password, password.toUpperCase(), letters, letters.toUpperCase(), password.replace(/-/g, ' ').toUpperCase(), basic, `Basic ${basic}`];
};

let api: ApiStack;
let output: ApiStack['output'];
/** Every response the API gave in this file (status, headers, body). */
const seen: ApiResponse[] = [];

async function call(...args: Parameters<ApiStack['call']>): Promise<ApiResponse> {
  const res = await api.call(...args);
  seen.push(res);
  return res;
}

function headerText(headers: Headers): string {
  const lines: string[] = [];
  headers.forEach((value, name) => lines.push(`${name}: ${value}`));
  return lines.join('\n');
}

const connectAs = (as: string, appleId: string, appSpecificPassword: string, extra: Record<string, unknown> = {}) =>
  call('POST', { as, body: { ...extra, appleId, appSpecificPassword } });

beforeAll(async () => {
  api = await startApiStack({ users: { [ANN]: ANN_PASSWORD, [BOB]: BOB_PASSWORD } });
  output = api.output; // the handlers' JSON logs, kept out of the test report
});

afterAll(async () => {
  await api?.stop();
});

describe('one account cannot reach another', () => {
  const A = 'account-a';
  const B = 'account-b';
  let aItem: Record<string, any> | undefined;

  beforeAll(async () => {
    expect((await connectAs(A, ANN, ANN_PASSWORD)).status).toBe(201);
    await api.table.doc.send(
      new PutCommand({ TableName: api.table.name, Item: { pk: accountKey(A), sk: 'BOOKING#bk_a', accountId: A, bookingId: 'bk_a', seq: 1, desired: 'event' } }),
    );
    aItem = await api.connectionItem(A);
    expect(aItem).toBeDefined();
  });

  const aUnchanged = async () => {
    expect(await api.connectionItem(A)).toEqual(aItem);
    expect((await call('GET', { as: A })).body).toMatchObject({ status: 'active', appleId: ANN });
    expect((await api.scan()).some((i) => i.pk === accountKey(A) && i.sk === 'BOOKING#bk_a')).toBe(true);
  };

  it("B's details say not_connected while A is connected", async () => {
    const res = await call('GET', { as: B });
    expect(res.status).toBe(200);
    expect(res.body).toStrictEqual({ status: 'not_connected' });
    expect(res.text).not.toContain(ANN);
  });

  it("B's disconnect (204) leaves A connected, with its held booking changes", async () => {
    expect((await call('DELETE', { as: B })).status).toBe(204);
    await aUnchanged();
  });

  it('nothing in the query string names another account', async () => {
    const q = `?userId=${A}&accountId=${A}&sub=${A}&pk=${encodeURIComponent(accountKey(A))}`;
    expect((await call('GET', { as: B, suffix: q })).body).toStrictEqual({ status: 'not_connected' });
    expect((await call('DELETE', { as: B, suffix: q })).status).toBe(204);
    await aUnchanged();
  });

  it('nothing in the path names another account (no such route)', async () => {
    for (const method of ['GET', 'DELETE', 'POST']) {
      const res = await call(method, { as: B, suffix: `/${A}`, body: method === 'POST' ? { appleId: BOB, appSpecificPassword: BOB_PASSWORD } : undefined });
      expect(res.status).toBe(404);
    }
    await aUnchanged();
  });

  it('nothing in the body names another account: B connecting with {"userId":"A","accountId":"A"} only affects B', async () => {
    const res = await connectAs(B, BOB, BOB_PASSWORD, { userId: A, accountId: A, sub: A, pk: accountKey(A), status: 'error' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: 'active', appleId: BOB });
    await aUnchanged();
    expect((await api.connectionItem(B))?.appleId).toBe(BOB);
    // Only A's and B's connection items exist.
    const connections = (await api.scan()).filter((i) => i.sk === CONNECTION_SK).map((i) => i.pk);
    expect(connections.sort()).toEqual([accountKey(A), accountKey(B)]);
    expect((await call('DELETE', { as: B })).status).toBe(204);
    await aUnchanged();
  });

  it("B connecting A's Apple ID creates B's own connection and leaves A's untouched", async () => {
    const res = await connectAs(B, ANN, ANN_PASSWORD);
    expect(res.status).toBe(201);
    await aUnchanged();
    const bItem = await api.connectionItem(B);
    expect(bItem?.ciphertext).not.toBe(aItem!.ciphertext);
    // B's disconnect removes B's, not A's.
    expect((await call('DELETE', { as: B })).status).toBe(204);
    expect(await api.connectionItem(B)).toBeUndefined();
    await aUnchanged();
  });

  it("B cannot make A's connection 'already connected' to B's Apple ID, nor fail A's connect", async () => {
    expect((await connectAs(B, BOB, BOB_PASSWORD)).status).toBe(201);
    // A reconnecting its own Apple ID still works (200), B's connection is irrelevant.
    expect((await connectAs(A, ANN, ANN_PASSWORD)).status).toBe(200);
    aItem = await api.connectionItem(A);
    expect((await call('DELETE', { as: B })).status).toBe(204);
  });

  it('a token for B carrying claims that name A (userId, accountId, custom:*) still acts as B', async () => {
    const token = await api.signToken({ sub: B, extra: { userId: A, accountId: A, 'custom:accountId': A, username: A } });
    const authorization = `Bearer ${token}`;
    expect((await call('GET', { authorization })).body).toStrictEqual({ status: 'not_connected' });
    expect((await call('DELETE', { authorization })).status).toBe(204);
    await aUnchanged();
  });

  it('the stored ciphertext decrypts only under its own account', async () => {
    const item = await api.connectionItem(A);
    expect(await api.cipher.decrypt(item!.ciphertext, A)).toBe(ANN_PASSWORD);
    await expect(api.cipher.decrypt(item!.ciphertext, B)).rejects.toThrow();
    await expect(api.cipher.decrypt(item!.ciphertext, `${A} `)).rejects.toThrow();
  });
});

describe('the password never leaks', () => {
  it('not in responses, log lines or the table, whatever the outcome', async () => {
    const me = 'leak-check';
    const logStart = output.text().length;
    const from = seen.length;

    // Every outcome of connect, with the password in the pasted form and the Apple form.
    expect((await connectAs(me, ANN, WRONG)).status).toBe(422); // rejected
    expect((await connectAs(me, 'not-an-email', ANN_PASTED)).status).toBe(400); // invalid body, valid password
    expect((await connectAs(me, ANN, 'QMZR-VHKT-PLWC')).status).toBe(400); // invalid password
    expect((await call('POST', { as: me, body: `{"appleId":"${ANN}","appSpecificPassword":"${ANN_PASSWORD}"` })).status).toBe(400); // broken JSON
    api.caldav.setFault(() => ({ status: 503 }));
    expect((await connectAs(me, ANN, ANN_PASTED)).status).toBe(502); // server down
    api.caldav.setFault(undefined);
    expect((await connectAs(me, ANN, ANN_PASTED)).status).toBe(201); // connected
    expect((await connectAs(me, ANN, ANN_PASSWORD)).status).toBe(200); // reconnected
    expect((await connectAs(me, BOB, BOB_PASSWORD)).status).toBe(409); // another Apple ID
    expect((await call('GET', { as: me })).status).toBe(200);
    const ciphertext = (await api.connectionItem(me))!.ciphertext as string;

    // Rate-limited account: five rejections then 429 (an Apple ID of its own: the limit also
    // holds per Apple ID, and ANN must stay usable for the rest of the file).
    for (let i = 0; i < 5; i++) await connectAs('leak-limit', CAROL, WRONG);
    expect((await connectAs('leak-limit', CAROL, ANN_PASTED)).status).toBe(429);

    // The requests carried the password to the CalDAV server (so the check below is not vacuous)…
    const sentAuth = api.caldav.requests.map((r) => r.headers.authorization ?? '');
    expect(sentAuth).toContain(`Basic ${Buffer.from(`${ANN}:${ANN_PASSWORD}`).toString('base64')}`);

    // …and the handlers logged (JSON lines from the Powertools logger)…
    const logs = output.text().slice(logStart);
    const lines = logs.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { message: string });
    expect(lines.map((l) => l.message)).toEqual(expect.arrayContaining(['connected', 'reconnected', 'connect rejected by the CalDAV server', 'CalDAV server unavailable during connect']));

    // …but no response, log line or stored item holds the password, in any form, or the ciphertext.
    const responses = seen
      .slice(from)
      .map((r) => `${r.status} ${headerText(r.headers)} ${r.text}`)
      .join('\n');
    for (const secret of [...secretForms(ANN_PASSWORD, ANN), ...secretForms(WRONG, ANN), ...secretForms(WRONG, CAROL), ANN_PASTED.trim()]) {
      expect(responses).not.toContain(secret);
      expect(logs).not.toContain(secret);
    }
    expect(responses).not.toContain(ciphertext);
    expect(logs).not.toContain(ciphertext);
    expect(logs.toLowerCase()).not.toContain('authorization');

    const table = JSON.stringify(await api.scan());
    for (const secret of [...secretForms(ANN_PASSWORD, ANN), ...secretForms(BOB_PASSWORD, BOB), ...secretForms(WRONG, ANN)]) {
      expect(table).not.toContain(secret);
    }
    expect(table).toContain(ciphertext); // it is stored, encrypted
  });

  it('the whole file: no response body ever contained a password', () => {
    const all = seen.map((r) => r.text).join('\n');
    for (const secret of [...secretForms(ANN_PASSWORD, ANN), ...secretForms(BOB_PASSWORD, BOB), ...secretForms(WRONG, ANN)]) expect(all).not.toContain(secret);
  });
});

describe('bad input never gives a 5xx', () => {
  const me = 'fuzz';
  const nested = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

  it.each([
    ['empty', ''],
    ['whitespace', '  \n\t '],
    ['null', 'null'],
    ['a string', '"x"'],
    ['an array', '[1,2,3]'],
    ['truncated JSON', '{"appleId":'],
    ['a NUL byte', '\u0000'],
    ['JSON with a BOM', `\ufeff${JSON.stringify({ appleId: ANN, appSpecificPassword: ANN_PASSWORD })}`],
    ['deeply nested JSON', nested(600)],
    ['a huge number', '{"appleId": 1e400, "appSpecificPassword": -1e400}'],
    ['__proto__ keys', '{"__proto__": {"appleId": "a@b.co", "appSpecificPassword": "abcd-efgh-ijkl-mnop"}, "constructor": {"prototype": {}}}'],
    ['a header injection in the Apple ID', JSON.stringify({ appleId: `${ANN}\r\nX-Injected: 1`, appSpecificPassword: ANN_PASSWORD })],
    ['control characters in the password', JSON.stringify({ appleId: ANN, appSpecificPassword: 'qmzr\u0000vhkt\u0007plwc\u001bndxa' })],
    ['zero-width characters in the password', JSON.stringify({ appleId: ANN, appSpecificPassword: 'qmzr\u200b-vhkt-plwc-ndxa' })],
    ['an emoji Apple ID', JSON.stringify({ appleId: '🍎@icloud.com', appSpecificPassword: ANN_PASSWORD })],
    ['a right-to-left override', JSON.stringify({ appleId: 'ann\u202e@icloud.com', appSpecificPassword: ANN_PASSWORD })],
    ['a 3000-character Apple ID', JSON.stringify({ appleId: `${'a'.repeat(3000)}@icloud.com`, appSpecificPassword: ANN_PASSWORD })],
    ['a body just over the limit', JSON.stringify({ appleId: ANN, appSpecificPassword: ANN_PASSWORD, pad: 'p'.repeat(4100) })],
    ['a large body (1 MB)', JSON.stringify({ appleId: ANN, appSpecificPassword: ANN_PASSWORD, pad: 'p'.repeat(1_000_000) })],
    ['form-encoded', `appleId=${encodeURIComponent(ANN)}&appSpecificPassword=${ANN_PASSWORD}`],
    ['XML', '<connect><appleId>ann@icloud.com</appleId></connect>'],
  ])('POST %s → 400 invalid_request', async (_what, body) => {
    const res = await call('POST', { as: me, body });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
    expect(res.body.error.fields).toBeTypeOf('object');
  });

  it('POST invalid UTF-8 bytes → 400', async () => {
    const res = await call('POST', { as: me, body: new Uint8Array([0xff, 0xfe, 0x7b, 0xc3, 0x28, 0x7d]) });
    expect(res.status).toBe(400);
  });

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream', ''])(
    'POST a valid JSON body with content-type %j is handled (not a 5xx)',
    async (contentType) => {
      const res = await call('POST', { as: `ct-${contentType.length}`, body: JSON.stringify({ appleId: ANN, appSpecificPassword: ANN_PASSWORD }), headers: { 'content-type': contentType } });
      expect(res.status).toBeLessThan(500);
      expect([200, 201]).toContain(res.status);
    },
  );

  it('a body beyond the API payload limit (over 10 MB) is refused, not a 5xx', async () => {
    const res = await call('POST', { as: me, body: 'x'.repeat(10 * 1024 * 1024 + 1) });
    expect(res.status).toBe(413);
  });

  it('GET ignores junk query strings; DELETE also ignores a body', async () => {
    for (const suffix of ['?%zz', '?a=1&a=2', `?${'q'.repeat(2000)}=1`, '?userId[]=x&__proto__=1']) {
      expect((await call('GET', { as: me, suffix })).status).toBe(200);
      expect((await call('DELETE', { as: me, suffix, body: '[]' })).status).toBe(204);
    }
  });

  it.each(['user#1', 'ACCOUNT#account-a', 'account-a#CONNECTION', '用户-1', 'a b', 'x'.repeat(256), '用'.repeat(256)])(
    'an unusual token subject (%s) is just another account',
    async (sub) => {
      expect((await call('GET', { as: sub })).body).toStrictEqual({ status: 'not_connected' });
      expect((await call('DELETE', { as: sub })).status).toBe(204);
      expect((await call('POST', { as: sub, body: '{}' })).status).toBe(400);
      expect((await api.connectionItem('account-a'))?.appleId).toBe(ANN);
    },
  );

  it.each([257, 5_000])('a validly signed token whose sub has %i characters is not a valid account id: 401, never a 5xx', async (n) => {
    // (A 5,000-character sub of 3-byte characters makes a token over Node's and API Gateway's header limits: 431 before any handler.)
    for (const sub of n < 1000 ? ['x'.repeat(n), '用'.repeat(n)] : ['x'.repeat(n)]) {
      for (const method of ['GET', 'POST', 'DELETE']) {
        const res = await call(method, { as: sub, body: method === 'POST' ? { appleId: ANN, appSpecificPassword: ANN_PASSWORD } : undefined });
        expect(res.status).toBe(401);
        expect(res.body).toStrictEqual({ message: 'Unauthorized' });
      }
    }
  });

  it('no response in this file was a 5xx other than the 502 for a failing calendar server', () => {
    expect(seen.length).toBeGreaterThan(50);
    const fives = seen.filter((r) => r.status >= 500);
    expect(fives.every((r) => r.status === 502 && r.body?.error?.code === 'calendar_unavailable')).toBe(true);
  });
});
