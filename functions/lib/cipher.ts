import { KMSClient } from '@aws-sdk/client-kms';
import { kmsCipher } from '../../shared/cipher/kms.js';
import { loadOrCreateKey, localCipher } from '../../shared/cipher/local.js';
import type { CredentialCipher } from '../../shared/cipher/port.js';
import type { Config } from '../../shared/config.js';

/** KMS in the cloud, a local AES-256-GCM key file on the local stack. */
export function cipherFromConfig(config: Config): CredentialCipher {
  if (config.CIPHER === 'local') {
    if (!config.LOCAL_KEY_FILE) throw new Error('Invalid configuration: LOCAL_KEY_FILE is required when CIPHER=local');
    return localCipher(loadOrCreateKey(config.LOCAL_KEY_FILE));
  }
  if (!config.KMS_KEY_ID) throw new Error('Invalid configuration: KMS_KEY_ID is required when CIPHER=kms');
  return kmsCipher(new KMSClient({}), config.KMS_KEY_ID);
}
