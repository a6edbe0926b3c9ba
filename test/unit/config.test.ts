import { describe, expect, it } from 'vitest';
import { createConnectHandler } from '../../functions/handlers/connect.js';
import { createDetailsHandler } from '../../functions/handlers/details.js';
import { createDisconnectHandler } from '../../functions/handlers/disconnect.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readConfig, readLocalSettings } from '../../shared/config.js';
import { stackOptions } from '../../local/stack-settings.js';
import { cipherFromConfig, platformFrom } from '../../functions/lib/platform.js';

describe('readConfig', () => {
  it('names TABLE_NAME when it is missing or empty', () => {
    expect(() => readConfig({})).toThrow(/Invalid configuration: .*TABLE_NAME/);
    expect(() => readConfig({ TABLE_NAME: '' })).toThrow(/TABLE_NAME/);
  });

  it('applies the defaults: iCloud, 10 s timeout, KMS, attendees', () => {
    expect(readConfig({ TABLE_NAME: 't' })).toMatchObject({
      TABLE_NAME: 't',
      CALDAV_SERVER_URL: 'https://caldav.icloud.com',
      CALDAV_TIMEOUT_MS: 10_000,
      CIPHER: 'kms',
      ATTENDEE_MODE: 'attendees',
    });
  });

  it('reads CALDAV_SERVER_URL and a numeric CALDAV_TIMEOUT_MS', () => {
    const c = readConfig({ TABLE_NAME: 't', CALDAV_SERVER_URL: 'http://127.0.0.1:5232', CALDAV_TIMEOUT_MS: '2500' });
    expect(c.CALDAV_SERVER_URL).toBe('http://127.0.0.1:5232');
    expect(c.CALDAV_TIMEOUT_MS).toBe(2500);
  });

  it.each([
    ['CALDAV_SERVER_URL', { CALDAV_SERVER_URL: 'not a url' }],
    ['CALDAV_SERVER_URL', { CALDAV_SERVER_URL: 'ftp://caldav.example.com' }],
    ['CALDAV_TIMEOUT_MS', { CALDAV_TIMEOUT_MS: 'ten' }],
    ['CALDAV_TIMEOUT_MS', { CALDAV_TIMEOUT_MS: '-1' }],
    ['CIPHER', { CIPHER: 'rot13' }],
  ])('names %s when it is malformed', (name, env) => {
    expect(() => readConfig({ TABLE_NAME: 't', ...env })).toThrow(new RegExp(`Invalid configuration: .*${name}`));
  });

  it('does not require KMS_KEY_ID: only the functions that build the cipher need it', () => {
    // details and disconnect are deployed with CIPHER=kms and no KMS_KEY_ID.
    expect(() => readConfig({ TABLE_NAME: 't', CIPHER: 'kms' })).not.toThrow();
  });
});

describe('cipherFromConfig', () => {
  it('requires KMS_KEY_ID for the KMS cipher, naming it', () => {
    const config = readConfig({ TABLE_NAME: 't', CIPHER: 'kms' });
    expect(() => cipherFromConfig(config)).toThrow(/KMS_KEY_ID is required when CIPHER=kms/);
    const withKey = readConfig({ TABLE_NAME: 't', CIPHER: 'kms', KMS_KEY_ID: 'arn:aws:kms:us-east-1:111122223333:key/k' });
    expect(typeof cipherFromConfig(withKey).encrypt).toBe('function');
  });

  it('requires LOCAL_KEY_FILE for the local cipher, and builds it from that file', async () => {
    expect(() => cipherFromConfig(readConfig({ TABLE_NAME: 't', CIPHER: 'local' }))).toThrow(/LOCAL_KEY_FILE is required when CIPHER=local/);
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    try {
      const cipher = cipherFromConfig(readConfig({ TABLE_NAME: 't', CIPHER: 'local', LOCAL_KEY_FILE: join(dir, 'key') }));
      expect(await cipher.decrypt(await cipher.encrypt('abcd-efgh-ijkl-mnop', 'acc'), 'acc')).toBe('abcd-efgh-ijkl-mnop');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('handlers build with the configuration the cloud stack gives them', () => {
  // What each Lambda entry does at module scope: readConfig(process.env) → platform → factory.
  const cloud = (env: Record<string, string> = {}) => platformFrom(readConfig({ TABLE_NAME: 'connector', CIPHER: 'kms', ...env }));

  it('details and disconnect build without KMS_KEY_ID', () => {
    expect(typeof createDetailsHandler(cloud())).toBe('function');
    expect(typeof createDisconnectHandler(cloud())).toBe('function');
  });

  it('connect refuses to build without KMS_KEY_ID, naming it', () => {
    expect(() => createConnectHandler(cloud())).toThrow(/KMS_KEY_ID/);
  });

  it('every function refuses to start without TABLE_NAME, naming it', () => {
    expect(() => readConfig({ CIPHER: 'kms' })).toThrow(/TABLE_NAME/);
  });
});

describe('readLocalSettings', () => {
  it('records every change first on the local stack unless SYNC_RECORD_FIRST=false; anything else is refused', () => {
    expect(readLocalSettings({}).SYNC_RECORD_FIRST).toBe(true);
    expect(readLocalSettings({ SYNC_RECORD_FIRST: 'false' }).SYNC_RECORD_FIRST).toBe(false);
    expect(stackOptions(readLocalSettings({ SYNC_RECORD_FIRST: 'false' })).recordFirst).toBe(false);
    expect(() => readLocalSettings({ SYNC_RECORD_FIRST: 'no' })).toThrow(/SYNC_RECORD_FIRST/);
  });
});
