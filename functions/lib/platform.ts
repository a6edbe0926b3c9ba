import { KMSClient } from '@aws-sdk/client-kms';
import { SQSClient } from '@aws-sdk/client-sqs';
import { kmsCipher } from '../../shared/cipher/kms.js';
import { loadOrCreateKey, localCipher } from '../../shared/cipher/local.js';
import type { CredentialCipher } from '../../shared/cipher/port.js';
import type { Config } from '../../shared/config.js';
import type { Logger } from '@aws-lambda-powertools/logger';
import { createLogger } from '../../shared/logger.js';
import { createTable, type Table } from '../../shared/store/table.js';
import { powertoolsMetrics, type MetricsSink } from './metrics.js';

/**
 * What a function gets from the world it runs in: the validated config and the clients made
 * from it, once per container. The handler factories take a Platform and build their domain
 * dependencies from it; the local stack, tests and the bench make their own Platform (a test
 * table, a counting fetch, a log stream) instead of patching globals or the environment.
 */
export interface Platform {
  config: Config;
  /** Powertools Logger (JSON lines, secrets redacted); handlers use its Lambda-context middleware. */
  log: Logger;
  table: Table;
  sqs: SQSClient;
  /** The credentials cipher, built on first use (details and disconnect never need one). */
  cipher: () => CredentialCipher;
  /** The fetch CalDAV requests go through (default: the global one). */
  fetch?: typeof fetch;
  metrics: MetricsSink;
  now: () => Date;
}

/** The cloud's platform: AWS SDK clients from the Lambda environment, KMS for credentials. */
export function platformFrom(config: Config, overrides: Partial<Platform> = {}): Platform {
  let cipher: CredentialCipher | undefined;
  return {
    config,
    log: createLogger({ serviceName: config.POWERTOOLS_SERVICE_NAME }),
    table: createTable(config.TABLE_NAME, { endpoint: config.DYNAMODB_ENDPOINT, region: config.AWS_REGION }),
    sqs: new SQSClient({ endpoint: config.SQS_ENDPOINT, region: config.AWS_REGION }),
    cipher: () => (cipher ??= cipherFromConfig(config)),
    metrics: powertoolsMetrics(),
    now: () => new Date(),
    ...overrides,
  };
}

/** KMS in the cloud, a local AES-256-GCM key file on the local stack. */
export function cipherFromConfig(config: Config): CredentialCipher {
  if (config.CIPHER === 'local') {
    if (!config.LOCAL_KEY_FILE) throw new Error('Invalid configuration: LOCAL_KEY_FILE is required when CIPHER=local');
    return localCipher(loadOrCreateKey(config.LOCAL_KEY_FILE));
  }
  if (!config.KMS_KEY_ID) throw new Error('Invalid configuration: KMS_KEY_ID is required when CIPHER=kms');
  return kmsCipher(new KMSClient({ region: config.AWS_REGION }), config.KMS_KEY_ID);
}
