import { createHmac, hkdfSync } from 'node:crypto';
import { GenerateMacCommand, KMSClient } from '@aws-sdk/client-kms';
import { loadOrCreateKey } from '../cipher/local.js';
import type { Config } from '../config.js';

/**
 * Turns an Apple ID into the key its rejected-login limit is kept under: a keyed hash
 * (HMAC-SHA256) of the normalised address, so the table never holds the address itself and
 * nobody without the key can test a guess against it. In the cloud the key is a KMS HMAC key
 * that never leaves KMS (only connect may kms:GenerateMac with it); on the local stack it is
 * derived (HKDF) from the local encryption key file.
 */
export interface AppleIdMac {
  keyOf(appleId: string): Promise<string>;
}

/** The same Apple ID, however it was typed: trimmed and lower-case. */
export const normaliseAppleId = (appleId: string) => appleId.trim().toLowerCase();

export function localAppleIdMac(secret: Buffer): AppleIdMac {
  const key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'apple-calendar-connector/apple-id-limit', 32));
  return { keyOf: async (appleId) => createHmac('sha256', key).update(normaliseAppleId(appleId), 'utf8').digest('base64url') };
}

export function kmsAppleIdMac(kms: KMSClient, keyId: string): AppleIdMac {
  return {
    async keyOf(appleId) {
      const out = await kms.send(new GenerateMacCommand({ KeyId: keyId, MacAlgorithm: 'HMAC_SHA_256', Message: Buffer.from(normaliseAppleId(appleId), 'utf8') }));
      if (!out.Mac) throw new Error('KMS GenerateMac returned no MAC');
      return Buffer.from(out.Mac).toString('base64url');
    },
  };
}

/** KMS in the cloud (APPLE_ID_MAC_KEY_ID), derived from the local key file on the local stack. */
export function appleIdMacFromConfig(config: Config): AppleIdMac {
  if (config.CIPHER === 'local') {
    if (!config.LOCAL_KEY_FILE) throw new Error('Invalid configuration: LOCAL_KEY_FILE is required when CIPHER=local');
    return localAppleIdMac(loadOrCreateKey(config.LOCAL_KEY_FILE));
  }
  if (!config.APPLE_ID_MAC_KEY_ID) throw new Error('Invalid configuration: APPLE_ID_MAC_KEY_ID is required when CIPHER=kms');
  return kmsAppleIdMac(new KMSClient({}), config.APPLE_ID_MAC_KEY_ID);
}
