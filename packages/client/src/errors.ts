/**
 * Typed errors of the client. Every failed call rejects with an `AllSourceApiError` whose `kind`
 * tells what went wrong, so callers can `switch (err.kind)` instead of comparing status numbers.
 */

/** What went wrong, derived from the HTTP status (or the lack of an answer). */
export type ApiErrorKind =
  | 'bad_request' // 400 and any other 4xx not listed below (405, 408, 410, …)
  | 'unauthorized' // 401
  | 'forbidden' // 403
  | 'not_found' // 404
  | 'conflict' // 409
  | 'payload_too_large' // 413
  | 'unsupported_media_type' // 415
  | 'validation' // 422
  | 'rate_limited' // 429
  | 'unavailable' // 503 (and 502 / 504)
  | 'server' // any other 5xx, or a 2xx whose body could not be read as promised
  | 'network'; // no answer at all: connection refused / reset, DNS, timeout, aborted

/** Every kind, e.g. for exhaustive tests or UI lists. */
export const API_ERROR_KINDS: readonly ApiErrorKind[] = [
  'bad_request',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'payload_too_large',
  'unsupported_media_type',
  'validation',
  'rate_limited',
  'unavailable',
  'server',
  'network',
];

/** Maps an HTTP status of a non-2xx answer to its kind. */
export function kindForStatus(status: number): ApiErrorKind {
  switch (status) {
    case 400:
      return 'bad_request';
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 409:
      return 'conflict';
    case 413:
      return 'payload_too_large';
    case 415:
      return 'unsupported_media_type';
    case 422:
      return 'validation';
    case 429:
      return 'rate_limited';
    case 502:
    case 503:
    case 504:
      return 'unavailable';
    default:
      if (status >= 400 && status < 500) return 'bad_request';
      return 'server';
  }
}

export interface AllSourceApiErrorInit<K extends ApiErrorKind = ApiErrorKind> {
  kind: K;
  message: string;
  /** HTTP status; 0 when there was no answer (`kind === 'network'`). */
  status: number;
  /** The body's stable `code` (e.g. `ENTITY_NOT_FOUND`); for network errors the transport code (e.g. `ECONNREFUSED`). */
  code: string;
  /** The parsed answer body (JSON when it was JSON, else the text); `undefined` for network errors. */
  body?: unknown;
  method?: string;
  url?: string;
  headers?: Record<string, string>;
  cause?: unknown;
}

export class AllSourceApiError<K extends ApiErrorKind = ApiErrorKind> extends Error {
  readonly kind: K;
  /** HTTP status; 0 when there was no answer (`kind === 'network'`). */
  readonly status: number;
  /** The body's stable `code`; `HTTP_<status>` when the body had none; transport code for network errors. */
  readonly code: string;
  /** The parsed answer body, `undefined` for network errors. */
  readonly body: unknown;
  /** HTTP method of the failed request. */
  readonly method: string;
  /** Full URL of the failed request. */
  readonly url: string;
  /** Answer headers (lower-case names); empty for network errors. */
  readonly headers: Record<string, string>;
  override readonly cause: unknown;

  constructor(init: AllSourceApiErrorInit<K>) {
    super(init.message);
    this.name = 'AllSourceApiError';
    this.kind = init.kind;
    this.status = init.status;
    this.code = init.code;
    this.body = init.body;
    this.method = init.method ?? '';
    this.url = init.url ?? '';
    this.headers = init.headers ?? {};
    this.cause = init.cause;
    Object.setPrototypeOf(this, new.target.prototype);
  }

  /** `error` text of the body (`"<Prefix>: <message>"`) when there was one. */
  get serverMessage(): string | undefined {
    const b = this.body;
    if (b !== null && typeof b === 'object' && typeof (b as { error?: unknown }).error === 'string') {
      return (b as { error: string }).error;
    }
    return undefined;
  }

  /** `true` for kinds worth retrying with back-off (429, 503, network). */
  get retryable(): boolean {
    return this.kind === 'rate_limited' || this.kind === 'unavailable' || this.kind === 'network';
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      kind: this.kind,
      status: this.status,
      code: this.code,
      message: this.message,
      method: this.method,
      url: this.url,
      body: this.body,
    };
  }
}

/** The discriminated union of all error variants: `switch (err.kind)` narrows it. */
export type ApiError = { [K in ApiErrorKind]: AllSourceApiError<K> }[ApiErrorKind];

/**
 * Type guard: `isApiError(err)` narrows to the union of all variants, `isApiError(err, 'not_found')`
 * additionally checks (and narrows) the kind.
 */
export function isApiError(err: unknown): err is ApiError;
export function isApiError<K extends ApiErrorKind>(err: unknown, kind: K): err is AllSourceApiError<K>;
export function isApiError(err: unknown, kind?: ApiErrorKind): boolean {
  if (!(err instanceof AllSourceApiError)) return false;
  return kind === undefined || err.kind === kind;
}
