/**
 * The transport every operation goes through: one axios call per request, bodies and query strings
 * serialized here (not by axios) so that what goes on the wire is exactly what the caller asked for,
 * and every non-2xx answer turned into an `AllSourceApiError`.
 */
import axios, { type AxiosInstance, type AxiosResponse, type RawAxiosRequestHeaders } from 'axios';
import { AllSourceApiError, kindForStatus } from './errors';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';

export interface AllSourceClientOptions {
  /** e.g. `http://127.0.0.1:8080`; a trailing slash is ignored, a path prefix is kept. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>` when given. */
  apiKey?: string;
  /** Per-request timeout in milliseconds (default 10 000; 0 disables it). */
  timeoutMs?: number;
  /** An axios instance to send through (interceptors, agents …); a fresh one by default. */
  axios?: AxiosInstance;
  /** Extra headers sent with every request. */
  headers?: Record<string, string>;
}

export interface RequestOptions {
  /**
   * Query parameters. `undefined` and `null` values are left out, `Date`s become RFC 3339
   * (`toISOString()`), arrays repeat the key. Keys and values are percent-encoded.
   */
  params?: object;
  /**
   * Request body. A string, `Buffer` or `Uint8Array` is sent byte for byte (set a `Content-Type`
   * header yourself; none is sent otherwise); anything else is JSON-encoded with `Content-Type: application/json`.
   */
  body?: unknown;
  /** Extra headers; they win over the client's defaults (including `Authorization`). */
  headers?: Record<string, string>;
  /** Overrides the client's timeout for this call. */
  timeoutMs?: number;
  /** Aborts the call; an aborted call rejects with kind `network` and code `ERR_CANCELED`. */
  signal?: AbortSignal;
}

export interface RawResponse<T = unknown> {
  status: number;
  /** The body parsed as JSON when the answer says it is JSON and it parses; otherwise the text. */
  data: T;
  /** Answer headers, lower-case names. */
  headers: Record<string, string>;
  /** The body exactly as received (UTF-8 decoded). */
  text: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const USER_AGENT = 'allsource-client/0.1.0';

/** Percent-encodes one path segment (slashes, spaces, `?`, `#`, `%` … included). */
export function encodePath(segment: string | number): string {
  return encodeURIComponent(String(segment));
}

function queryValue(v: unknown): string {
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Builds `a=1&b=x%20y` from an object; `undefined`/`null` left out, arrays repeat the key. */
export function buildQuery(params: object | undefined): string {
  if (!params) return '';
  const parts: string[] = [];
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null) continue;
    const values: unknown[] = Array.isArray(value) ? value : [value];
    for (const v of values) {
      if (v === undefined || v === null) continue;
      parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(queryValue(v))}`);
    }
  }
  return parts.join('&');
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  const lower = name.toLowerCase();
  return Object.keys(headers).some((k) => k.toLowerCase() === lower);
}

function normalizeHeaders(raw: AxiosResponse['headers'] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!raw) return out;
  const source: Record<string, unknown> =
    typeof (raw as { toJSON?: unknown }).toJSON === 'function'
      ? ((raw as { toJSON: () => Record<string, unknown> }).toJSON() as Record<string, unknown>)
      : (raw as Record<string, unknown>);
  for (const [k, v] of Object.entries(source)) {
    if (v === undefined || v === null) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
  }
  return out;
}

function isJsonContentType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const mime = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return mime === 'application/json' || mime.endsWith('+json');
}

function toText(data: unknown): string {
  if (typeof data === 'string') return data;
  if (data === undefined || data === null) return '';
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return String(data);
}

/** Parses the body as JSON when it claims to be JSON (or looks like it); otherwise the text. */
function parseBody(text: string, contentType: string | undefined): unknown {
  if (text === '') return text;
  const trimmed = text.trimStart();
  const looksJson = trimmed.startsWith('{') || trimmed.startsWith('[');
  if (isJsonContentType(contentType) || looksJson) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

interface AxiosLikeError {
  isAxiosError?: boolean;
  code?: string;
  message?: string;
  response?: unknown;
}

function isAxiosLikeError(err: unknown): err is AxiosLikeError {
  return (
    axios.isAxiosError(err) ||
    axios.isCancel(err) ||
    (typeof err === 'object' && err !== null && (err as AxiosLikeError).isAxiosError === true)
  );
}

export class HttpClient {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  private readonly axios: AxiosInstance;
  private readonly defaultHeaders: Record<string, string>;

  constructor(options: AllSourceClientOptions) {
    if (!options || typeof options.baseUrl !== 'string' || options.baseUrl.trim() === '') {
      throw new TypeError('AllSourceClient: baseUrl is required');
    }
    this.baseUrl = options.baseUrl.trim().replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.axios = options.axios ?? axios.create();
    this.defaultHeaders = { 'User-Agent': USER_AGENT, ...(options.headers ?? {}) };
    if (options.apiKey !== undefined && options.apiKey !== '') {
      this.defaultHeaders['Authorization'] = `Bearer ${options.apiKey}`;
    }
  }

  /** The full URL of `path` with `params` as query string. */
  url(path: string, params?: object): string {
    const p = path.startsWith('/') ? path : `/${path}`;
    const q = buildQuery(params);
    if (!q) return this.baseUrl + p;
    return this.baseUrl + p + (p.includes('?') ? '&' : '?') + q;
  }

  /**
   * Sends a request and returns the answer whatever its status. Rejects only when there was no
   * answer (kind `network`).
   */
  async raw<T = unknown>(method: HttpMethod | string, path: string, options: RequestOptions = {}): Promise<RawResponse<T>> {
    const verb = method.toUpperCase();
    const url = this.url(path, options.params);
    const headers: Record<string, string> = { ...this.defaultHeaders };
    if (!hasHeader(options.headers ?? {}, 'accept')) headers['Accept'] = 'application/json';

    let data: unknown = undefined;
    const body = options.body;
    if (body !== undefined) {
      if (typeof body === 'string' || Buffer.isBuffer(body)) {
        data = body;
      } else if (body instanceof Uint8Array) {
        data = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
      } else {
        data = JSON.stringify(body);
        if (!hasHeader(options.headers ?? {}, 'content-type')) headers['Content-Type'] = 'application/json';
      }
    }
    // Caller headers win, whatever their casing.
    for (const [k, v] of Object.entries(options.headers ?? {})) {
      for (const existing of Object.keys(headers)) {
        if (existing.toLowerCase() === k.toLowerCase()) delete headers[existing];
      }
      headers[k] = v;
    }

    // axios would add `application/x-www-form-urlencoded` to any POST/PUT/PATCH without a content
    // type (even a body-less one); `false` tells it to send no Content-Type at all.
    const sentHeaders: RawAxiosRequestHeaders = { ...headers };
    if (!hasHeader(headers, 'content-type')) sentHeaders['Content-Type'] = false;

    let response: AxiosResponse<unknown>;
    try {
      response = await this.axios.request<unknown>({
        method: verb,
        url,
        data,
        headers: sentHeaders,
        timeout: options.timeoutMs ?? this.timeoutMs,
        signal: options.signal,
        // Every status is an answer; `send` turns non-2xx into typed errors.
        validateStatus: () => true,
        // Bytes in and out exactly as given: no axios body / JSON magic.
        transformRequest: [(d: unknown) => d],
        transformResponse: [(d: unknown) => d],
        responseType: 'text',
        responseEncoding: 'utf8',
        maxRedirects: 0,
        maxBodyLength: Infinity,
        maxContentLength: Infinity,
        transitional: { clarifyTimeoutError: true, silentJSONParsing: true, forcedJSONParsing: false },
      });
    } catch (err) {
      throw this.networkError(err, verb, url);
    }
    const responseHeaders = normalizeHeaders(response.headers);
    const text = toText(response.data);
    return {
      status: response.status,
      data: parseBody(text, responseHeaders['content-type']) as T,
      headers: responseHeaders,
      text,
    };
  }

  /**
   * Sends a request and resolves with the body of a 2xx answer (parsed JSON, or the text when the
   * answer is not JSON). Any other status rejects with an `AllSourceApiError`.
   */
  async send<T>(method: HttpMethod | string, path: string, options: RequestOptions = {}): Promise<T> {
    const res = await this.raw<unknown>(method, path, options);
    if (res.status >= 200 && res.status < 300) return res.data as T;
    throw this.httpError(res, method.toUpperCase(), this.url(path, options.params));
  }

  /** Sends a request expecting JSON in a 2xx answer; an empty body resolves to `emptyValue`. */
  async json<T>(method: HttpMethod | string, path: string, options: RequestOptions = {}, emptyValue?: T): Promise<T> {
    const verb = method.toUpperCase();
    const res = await this.raw<unknown>(verb, path, options);
    const url = this.url(path, options.params);
    if (res.status < 200 || res.status >= 300) throw this.httpError(res, verb, url);
    return this.jsonBody<T>(res, verb, url, emptyValue);
  }

  /** The JSON body of an answer; rejects (kind `server`, code `INVALID_RESPONSE_BODY`) when it is not JSON. */
  jsonBody<T>(res: RawResponse<unknown>, method: string, url: string, emptyValue?: T): T {
    if (res.text.trim() === '' && emptyValue !== undefined) return emptyValue;
    if (typeof res.data === 'string') {
      throw new AllSourceApiError({
        kind: 'server',
        status: res.status,
        code: 'INVALID_RESPONSE_BODY',
        message: `Expected a JSON answer from ${method} ${url}, got ${res.headers['content-type'] ?? 'no content type'}`,
        body: res.data,
        method,
        url,
        headers: res.headers,
      });
    }
    return res.data as T;
  }

  /** Builds the typed error for a non-2xx answer. */
  httpError(res: RawResponse<unknown>, method: string, url: string): AllSourceApiError {
    const body = res.data;
    let code = `HTTP_${res.status}`;
    let message = `HTTP ${res.status} from ${method} ${url}`;
    if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
      const b = body as { code?: unknown; error?: unknown; message?: unknown };
      if (typeof b.code === 'string' && b.code !== '') code = b.code;
      if (typeof b.error === 'string' && b.error !== '') message = b.error;
      else if (typeof b.message === 'string' && b.message !== '') message = b.message;
    } else if (typeof body === 'string' && body.trim() !== '') {
      message = `${message}: ${body.trim().slice(0, 200)}`;
    }
    return new AllSourceApiError({
      kind: kindForStatus(res.status),
      status: res.status,
      code,
      message,
      body,
      method,
      url,
      headers: res.headers,
    });
  }

  private networkError(err: unknown, method: string, url: string): unknown {
    if (!isAxiosLikeError(err)) return err;
    const code = typeof err.code === 'string' && err.code !== '' ? err.code : 'NETWORK_ERROR';
    const detail = typeof err.message === 'string' && err.message !== '' ? err.message : code;
    return new AllSourceApiError({
      kind: 'network',
      status: 0,
      code,
      message: `Network error on ${method} ${url}: ${detail}`,
      method,
      url,
      cause: err,
    });
  }
}
