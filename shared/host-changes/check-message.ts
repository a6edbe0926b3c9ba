/**
 * The "check for host changes" message: put by the scheduler in the account's message group
 * of `booking-events.fifo`, so the check runs on the account's one writer — never at the same
 * time as a write of that account.
 */
export const CHECK_MESSAGE_TYPE = 'connector.host-changes.check';

export interface CheckMessage {
  type: typeof CHECK_MESSAGE_TYPE;
  userId: string;
}

export const checkMessage = (userId: string): CheckMessage => ({ type: CHECK_MESSAGE_TYPE, userId });

/** The account a body asks to check, or undefined when it is not a check message. */
export function parseCheckMessage(body: string): string | undefined {
  if (!body.includes(CHECK_MESSAGE_TYPE)) return undefined;
  try {
    const m = JSON.parse(body) as Partial<CheckMessage>;
    return m?.type === CHECK_MESSAGE_TYPE && typeof m.userId === 'string' && m.userId.length > 0 && m.userId.length <= 256 ? m.userId : undefined;
  } catch {
    return undefined;
  }
}
