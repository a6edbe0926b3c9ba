/**
 * The "check for host changes" message (an internal message of shared/sync/sync-message.ts): put by the scheduler in the account's message group
 * of `booking-events.fifo`, so the check runs on the account's one writer — never at the same
 * time as a write of that account.
 */
export const CHECK_MESSAGE_TYPE = 'connector.host-changes.check';

export interface CheckMessage {
  type: typeof CHECK_MESSAGE_TYPE;
  userId: string;
}

export const checkMessage = (userId: string): CheckMessage => ({ type: CHECK_MESSAGE_TYPE, userId });
