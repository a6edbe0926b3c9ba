import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jwtVerify, SignJWT } from 'jose';
import { SERVICE_CLAIM, SERVICE_CLAIM_VALUE, SERVICE_SUBJECT } from '../shared/busy/service-caller.js';

export const LOCAL_ISSUER = 'http://127.0.0.1/local-auth';
export const LOCAL_AUDIENCE = 'apple-calendar-connector';

/**
 * The local stack's stand-in for the dashboard's identity provider: an HS256 key kept in
 * the data folder (mode 0600), used by `npm run token` to sign and by the local HTTP API to
 * verify, with the same issuer/audience checks the cloud JWT authorizer makes.
 */
export function localJwt(dataDir: string) {
  const file = join(dataDir, 'jwt-signing-key');
  let secret: Buffer;
  try {
    secret = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  } catch {
    mkdirSync(dataDir, { recursive: true });
    secret = randomBytes(32);
    writeFileSync(file, secret.toString('base64') + '\n', { mode: 0o600 });
  }
  return {
    sign: (sub: string, ttl = '12h') =>
      new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuer(LOCAL_ISSUER).setAudience(LOCAL_AUDIENCE).setIssuedAt().setExpirationTime(ttl).sign(secret),
    /** The booking service's token for the internal routes (stands in for IAM on the local stack). */
    signService: (ttl = '12h') =>
      new SignJWT({ [SERVICE_CLAIM]: SERVICE_CLAIM_VALUE })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(SERVICE_SUBJECT)
        .setIssuer(LOCAL_ISSUER)
        .setAudience(LOCAL_AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(ttl)
        .sign(secret),
    /** The verified claims, or undefined for a missing, malformed, expired or foreign token. */
    verify: async (token: string) => {
      try {
        const { payload } = await jwtVerify(token, secret, { issuer: LOCAL_ISSUER, audience: LOCAL_AUDIENCE, algorithms: ['HS256'] });
        return typeof payload.sub === 'string' && payload.sub ? payload : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

export type LocalJwt = ReturnType<typeof localJwt>;
