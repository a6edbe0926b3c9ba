import { describe, expect, it } from 'vitest';
import { isBookingService, isServiceCaller, SERVICE_CLAIM, SERVICE_CLAIM_VALUE } from '../../shared/busy/service-caller.js';
import { readConfig } from '../../shared/config.js';

const ROLE = 'arn:aws:iam::111122223333:role/services/BookingService';
const iam = (userArn: string) => ({ iam: { accountId: '111122223333', userArn, userId: 'AROAEXAMPLE:session' } });

describe('the internal busy route accepts the booking service only', () => {
  it('a session of the configured role (the path is not in the session ARN), or the role itself', () => {
    expect(isBookingService(iam('arn:aws:sts::111122223333:assumed-role/BookingService/i-0abc'), [ROLE])).toBe(true);
    expect(isBookingService(iam(ROLE), [ROLE])).toBe(true);
  });

  it('not another role, account, partition or an IAM user; no IAM caller when none is configured', () => {
    for (const caller of [
      'arn:aws:sts::111122223333:assumed-role/OtherService/s',
      'arn:aws:sts::999999999999:assumed-role/BookingService/s',
      'arn:aws-cn:sts::111122223333:assumed-role/BookingService/s',
      'arn:aws:iam::111122223333:user/BookingService',
      'arn:aws:sts::111122223333:assumed-role/BookingServiceX/s',
      '',
    ]) {
      expect(isBookingService(iam(caller), [ROLE]), caller).toBe(false);
    }
    expect(isBookingService(iam('arn:aws:sts::111122223333:assumed-role/BookingService/s'), [])).toBe(false);
    expect(isBookingService({ iam: {} }, [ROLE])).toBe(false);
  });

  it('the local service token; never a user token; any IAM caller is still refused on the dashboard routes', () => {
    expect(isBookingService({ jwt: { claims: { [SERVICE_CLAIM]: SERVICE_CLAIM_VALUE } } }, [])).toBe(true);
    expect(isBookingService({ jwt: { claims: { sub: 'user-1' } } }, [ROLE])).toBe(false);
    expect(isServiceCaller(iam('arn:aws:sts::111122223333:assumed-role/OtherService/s'))).toBe(true);
  });

  it('BUSY_READER_ROLE_ARNS: a comma-separated list of role ARNs; anything else fails at start', () => {
    expect(readConfig({ TABLE_NAME: 't', BUSY_READER_ROLE_ARNS: `${ROLE}, arn:aws:iam::111122223333:role/Other` }).BUSY_READER_ROLE_ARNS).toEqual([ROLE, 'arn:aws:iam::111122223333:role/Other']);
    expect(readConfig({ TABLE_NAME: 't' }).BUSY_READER_ROLE_ARNS).toEqual([]);
    expect(() => readConfig({ TABLE_NAME: 't', BUSY_READER_ROLE_ARNS: 'arn:aws:iam::111122223333:user/x' })).toThrow(/BUSY_READER_ROLE_ARNS/);
  });
});
