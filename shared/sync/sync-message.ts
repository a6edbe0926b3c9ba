import * as z from 'zod/mini';
import { parseBookingEvent, type BookingEvent } from '../booking/booking-event.js';
import { CHECK_MESSAGE_TYPE } from '../host-changes/check-message.js';

/**
 * What the sync worker reads from the booking-events queue: the booking service's booking
 * events (contract §2) and the connector's own messages, put in the account's message group
 * so that the account's one writer handles them too. Internal messages carry the connection
 * `generation` they were made for: one still queued when the account disconnects and connects
 * another Apple ID does nothing there. To add one: a schema here, a case in sync-batch.
 */
export const REDRIVE = 'connector.redrive';

/** Booking ids in one re-drive message (far below SQS's 256 KiB). */
export const MAX_REDRIVE_BOOKINGS = 100;

const redrive = z.object({
  type: z.literal(REDRIVE),
  userId: z.string().check(z.minLength(1), z.maxLength(256)),
  generation: z.string().check(z.minLength(1), z.maxLength(64)),
  /** Write these bookings' recorded changes (the records hold what to write). */
  bookingIds: z.array(z.string().check(z.minLength(1), z.maxLength(256))).check(z.minLength(1), z.maxLength(MAX_REDRIVE_BOOKINGS)),
});

/** Check the account for host changes (contract §2b; sent by the host-change scheduler). */
const hostCheck = z.object({
  type: z.literal(CHECK_MESSAGE_TYPE),
  userId: z.string().check(z.minLength(1), z.maxLength(256)),
});

export const internalMessage = z.discriminatedUnion('type', [redrive, hostCheck]);
export type InternalMessage = z.infer<typeof internalMessage>;
export type RedriveMessage = z.infer<typeof redrive>;

export type SyncMessage =
  | { ok: true; kind: 'booking'; event: BookingEvent; dropped?: string[] }
  | { ok: true; kind: 'internal'; message: InternalMessage }
  | { ok: false; reason: string };

const INTERNAL_PREFIX = 'connector.';

export function parseSyncMessage(body: string): SyncMessage {
  const internal = internalType(body);
  if (internal === undefined) {
    const parsed = parseBookingEvent(body);
    return parsed.ok ? { ...parsed, kind: 'booking' } : parsed;
  }
  const checked = internalMessage.safeParse(internal);
  if (checked.success) return { ok: true, kind: 'internal', message: checked.data };
  return { ok: false, reason: checked.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') };
}

/** The parsed body when its `type` names an internal message, else undefined. */
function internalType(body: string): unknown {
  if (!body.includes(INTERNAL_PREFIX)) return undefined;
  try {
    const data = JSON.parse(body) as { type?: unknown } | null;
    return typeof data?.type === 'string' && data.type.startsWith(INTERNAL_PREFIX) ? data : undefined;
  } catch {
    return undefined;
  }
}

/** Re-drive messages for some of an account's bookings, at most MAX_REDRIVE_BOOKINGS each. */
export function redriveMessages(userId: string, generation: string, bookingIds: string[]): RedriveMessage[] {
  const out: RedriveMessage[] = [];
  for (let i = 0; i < bookingIds.length; i += MAX_REDRIVE_BOOKINGS) out.push({ type: REDRIVE, userId, generation, bookingIds: bookingIds.slice(i, i + MAX_REDRIVE_BOOKINGS) });
  return out;
}
