/**
 * The one error catalogue of both services. Every non-2xx answer is
 * `{"error": "<Prefix>: <message>", "code": "<CODE>"}` built from an entry here, so codes,
 * prefixes and statuses are stable and documented in one place (docs/api.md lists them).
 */

export const ERROR_CATALOGUE = {
  INVALID_JSON: { status: 400, prefix: 'Invalid input' },
  INVALID_EVENT: { status: 400, prefix: 'Invalid event' },
  INVALID_QUERY: { status: 400, prefix: 'Invalid query' },
  INVALID_INPUT: { status: 400, prefix: 'Invalid input' },
  UNAUTHORIZED: { status: 401, prefix: 'Unauthorized' },
  FORBIDDEN: { status: 403, prefix: 'Forbidden' },
  EVENT_NOT_FOUND: { status: 404, prefix: 'Event not found' },
  ENTITY_NOT_FOUND: { status: 404, prefix: 'Entity not found' },
  NOT_FOUND: { status: 404, prefix: 'Not found' },
  METHOD_NOT_ALLOWED: { status: 405, prefix: 'Method not allowed' },
  REQUEST_TIMEOUT: { status: 408, prefix: 'Request timeout' },
  VERSION_CONFLICT: { status: 409, prefix: 'Conflict' },
  CONFLICT: { status: 409, prefix: 'Conflict' },
  PAYLOAD_TOO_LARGE: { status: 413, prefix: 'Payload too large' },
  UPGRADE_REQUIRED: { status: 426, prefix: 'Upgrade required' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, prefix: 'Unsupported media type' },
  VALIDATION_FAILED: { status: 422, prefix: 'Validation error' },
  RATE_LIMITED: { status: 429, prefix: 'Too many requests' },
  HEADERS_TOO_LARGE: { status: 431, prefix: 'Request headers too large' },
  INTERNAL: { status: 500, prefix: 'Internal error' },
  UPSTREAM_ERROR: { status: 502, prefix: 'Upstream error' },
  STORAGE_UNAVAILABLE: { status: 503, prefix: 'Storage error' },
  OVERLOADED: { status: 503, prefix: 'Overloaded' },
  UPSTREAM_UNAVAILABLE: { status: 503, prefix: 'Upstream error' },
} as const satisfies Record<string, { status: number; prefix: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** The body of every error answer. `details` carries structured extras (e.g. ajv errors, a batch index). */
export interface ErrorBody {
  error: string;
  code: ErrorCode;
  details?: unknown;
}

/** The one error base class: `status` is the HTTP status, `code` the stable catalogue code. */
export class AllSourceError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = 'AllSourceError';
    this.code = code;
    this.status = ERROR_CATALOGUE[code].status;
    this.details = details;
  }

  toBody(): ErrorBody {
    const body: ErrorBody = { error: `${ERROR_CATALOGUE[this.code].prefix}: ${this.message}`, code: this.code };
    if (this.details !== undefined) body.details = this.details;
    return body;
  }
}

export function isAllSourceError(err: unknown): err is AllSourceError {
  return err instanceof AllSourceError;
}
