/**
 * The connector's public HTTP API, as the dashboard calls it: only
 * `GET|POST|PATCH|DELETE /integrations/apple-calendar` and `GET .../busy` with `Authorization: Bearer <token>`.
 * The token comes from a `TokenSource`; locally that is the local stack's `/local/token`.
 */
import type { ApiFailure } from './messages.js';

// The response shapes are the connector's own (type-only imports: nothing of shared/ is bundled).
import type { Details } from '../shared/connection/details.js';
import type { SettingsRequest } from '../shared/connection/settings.js';
export type { Details };
export type { BusyAnswer } from '../shared/busy/busy-service.js';
import type { BusyAnswer } from '../shared/busy/busy-service.js';
export type { LastSync } from '../shared/store/connections.js';

export class ApiError extends Error implements ApiFailure {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields?: Record<string, string>,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Gives a bearer token; `fresh` asks for a new one (after a 401). */
export type TokenSource = (fresh: boolean) => Promise<string>;

/** Local stack only: `GET /local/token?user=<id>` (never part of the cloud stack). */
export function localTokenSource(base: string, userId: string): TokenSource {
  let cached: Promise<string> | undefined;
  return (fresh) => {
    if (fresh || !cached) {
      const pending = (async () => {
        const res = await send(`${base}/local/token?user=${encodeURIComponent(userId)}`, { method: 'GET' });
        if (!res.ok) throw await toApiError(res);
        const body = (await res.json()) as { token?: unknown };
        if (typeof body.token !== 'string') throw new ApiError(res.status, 'internal_error', 'No token in the answer.');
        return body.token;
      })();
      cached = pending;
      pending.catch(() => {
        if (cached === pending) cached = undefined;
      });
    }
    return cached;
  };
}

const PATH = '/integrations/apple-calendar';

export function createApi(base: string, token: TokenSource) {
  async function call(method: 'GET' | 'POST' | 'DELETE' | 'PATCH', body?: string, signal?: AbortSignal, suffix = ''): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const res = await send(`${base}${PATH}${suffix}`, {
        method,
        headers: { authorization: `Bearer ${await token(attempt > 0)}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body,
        signal,
      });
      // An expired token: get a new one and try once more.
      if (res.status === 401 && attempt === 0) continue;
      if (!res.ok) throw await toApiError(res);
      return res;
    }
  }

  return {
    async details(): Promise<Details> {
      return (await (await call('GET')).json()) as Details;
    },
    /**
     * The password lives only in this call's arguments and the request body; nothing here
     * keeps, logs or stores it.
     */
    async connect(appleId: string, appSpecificPassword: string, signal?: AbortSignal): Promise<Details> {
      return (await (await call('POST', JSON.stringify({ appleId, appSpecificPassword }), signal)).json()) as Details;
    },
    async disconnect(): Promise<void> {
      await call('DELETE');
    },
    /** The calendars whose events count as busy (the others are unchecked). */
    async chooseCalendars(conflictCalendars: string[]): Promise<Details> {
      return this.updateSettings({ conflictCalendars });
    },
    /** PATCH: any of the conflict calendars, the destination calendar and the alert. */
    async updateSettings(settings: SettingsRequest): Promise<Details> {
      return (await (await call('PATCH', JSON.stringify(settings))).json()) as Details;
    },
    async busy(from: Date, to: Date, timeZone: string): Promise<BusyAnswer> {
      const q = new URLSearchParams({ from: from.toISOString(), to: to.toISOString(), timeZone });
      return (await (await call('GET', undefined, undefined, `/busy?${q}`)).json()) as BusyAnswer;
    },
  };
}

export type Api = ReturnType<typeof createApi>;

async function send(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, { ...init, cache: 'no-store', credentials: 'omit', redirect: 'error' });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'network_error', 'The request did not get an answer.');
  }
}

async function toApiError(res: Response): Promise<ApiError> {
  let error: { code?: unknown; message?: unknown; fields?: unknown } = {};
  try {
    const body = (await res.json()) as { error?: typeof error };
    if (body && typeof body.error === 'object' && body.error) error = body.error;
  } catch {
    // Not the handlers' JSON (e.g. a gateway's 401 or 5xx page): the status says enough.
  }
  const retryAfter = Number(res.headers.get('retry-after'));
  return new ApiError(
    res.status,
    typeof error.code === 'string' ? error.code : res.status === 401 ? 'unauthorized' : 'http_error',
    typeof error.message === 'string' ? error.message : `HTTP ${res.status}`,
    error.fields && typeof error.fields === 'object' ? (error.fields as Record<string, string>) : undefined,
    Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
  );
}
