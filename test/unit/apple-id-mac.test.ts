import { createConnectHandler } from '../../functions/handlers/connect.js';
import { platformFrom } from '../../functions/lib/platform.js';
import { readConfig } from '../../shared/config.js';
import { GenerateMacCommand, KMSClient } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { kmsAppleIdMac, localAppleIdMac, normaliseAppleId } from '../../shared/connection/apple-id-mac.js';

describe('the Apple ID limit key', () => {
  it('is the same for every spelling of one Apple ID, different for another, and never contains it', async () => {
    const mac = localAppleIdMac(Buffer.alloc(32, 1));
    const a = await mac.keyOf('ann@icloud.com');
    expect(await mac.keyOf('  ANN@iCloud.com ')).toBe(a);
    expect(await mac.keyOf('bob@icloud.com')).not.toBe(a);
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.toLowerCase()).not.toContain('ann');
    expect(normaliseAppleId(' Ann@X.io ')).toBe('ann@x.io');
  });

  it('depends on the secret: another deployment cannot compute it', async () => {
    expect(await localAppleIdMac(Buffer.alloc(32, 1)).keyOf('ann@icloud.com')).not.toBe(await localAppleIdMac(Buffer.alloc(32, 2)).keyOf('ann@icloud.com'));
  });

  it('in the cloud is KMS GenerateMac (HMAC_SHA_256) of the normalised address with the configured key', async () => {
    const kms = mockClient(KMSClient);
    kms.on(GenerateMacCommand).resolves({ Mac: new Uint8Array(32).fill(9) });
    const key = await kmsAppleIdMac(new KMSClient({}), 'arn:aws:kms:eu-west-1:111122223333:key/mac').keyOf(' Ann@iCloud.com');
    const input = kms.commandCalls(GenerateMacCommand)[0]!.args[0].input;
    expect(input).toMatchObject({ KeyId: 'arn:aws:kms:eu-west-1:111122223333:key/mac', MacAlgorithm: 'HMAC_SHA_256' });
    expect(Buffer.from(input.Message!).toString('utf8')).toBe('ann@icloud.com');
    expect(key).toBe(Buffer.alloc(32, 9).toString('base64url'));
    kms.restore();
  });
});

describe('connect in the cloud', () => {
  it('refuses to build without APPLE_ID_MAC_KEY_ID, naming it', () => {
    const config = readConfig({ TABLE_NAME: 'connector', CIPHER: 'kms', KMS_KEY_ID: 'arn:aws:kms:eu-west-1:111122223333:key/credentials' });
    expect(() => createConnectHandler(platformFrom(config))).toThrow(/APPLE_ID_MAC_KEY_ID/);
  });
});
