import { encodePath, type HttpClient, type RequestOptions } from '../http';
import type {
  CompatibilityMode,
  GetSchemaParams,
  ListSubjectsResponse,
  RegisterSchemaRequest,
  RegisterSchemaResponse,
  SchemaResponse,
  SchemaVersionsResponse,
  SetCompatibilityResponse,
  ValidatePayloadRequest,
  ValidatePayloadResponse,
} from '../types';

const subjectPath = (subject: string) => `/api/v1/schemas/${encodePath(subject)}`;

/** `POST /api/v1/schemas`; 409 (`conflict`) on a compatibility violation, 400 on an invalid schema. */
export function registerSchema(http: HttpClient, request: RegisterSchemaRequest, options?: RequestOptions): Promise<RegisterSchemaResponse> {
  return http.json<RegisterSchemaResponse>('POST', '/api/v1/schemas', { ...options, body: request });
}

/** `GET /api/v1/schemas`. */
export function listSubjects(http: HttpClient, options?: RequestOptions): Promise<ListSubjectsResponse> {
  return http.json<ListSubjectsResponse>('GET', '/api/v1/schemas', options);
}

/** `GET /api/v1/schemas/:subject?version=` (latest version when none is given). */
export function getSchema(
  http: HttpClient,
  subject: string,
  params: GetSchemaParams = {},
  options?: RequestOptions,
): Promise<SchemaResponse> {
  return http.json<SchemaResponse>('GET', subjectPath(subject), { ...options, params: { version: params.version } });
}

/** `GET /api/v1/schemas/:subject/versions`. */
export function schemaVersions(http: HttpClient, subject: string, options?: RequestOptions): Promise<SchemaVersionsResponse> {
  return http.json<SchemaVersionsResponse>('GET', `${subjectPath(subject)}/versions`, options);
}

/** `PUT /api/v1/schemas/:subject/compatibility` `{compatibility}`. */
export function setCompatibility(
  http: HttpClient,
  subject: string,
  compatibility: CompatibilityMode,
  options?: RequestOptions,
): Promise<SetCompatibilityResponse> {
  return http.json<SetCompatibilityResponse>('PUT', `${subjectPath(subject)}/compatibility`, {
    ...options,
    body: { compatibility },
  });
}

/** `POST /api/v1/schemas/validate` `{subject, version?, payload}`. */
export function validatePayload(
  http: HttpClient,
  request: ValidatePayloadRequest,
  options?: RequestOptions,
): Promise<ValidatePayloadResponse> {
  return http.json<ValidatePayloadResponse>('POST', '/api/v1/schemas/validate', { ...options, body: request });
}

export interface SchemasApi {
  register(request: RegisterSchemaRequest, options?: RequestOptions): Promise<RegisterSchemaResponse>;
  list(options?: RequestOptions): Promise<ListSubjectsResponse>;
  get(subject: string, params?: GetSchemaParams, options?: RequestOptions): Promise<SchemaResponse>;
  versions(subject: string, options?: RequestOptions): Promise<SchemaVersionsResponse>;
  setCompatibility(subject: string, compatibility: CompatibilityMode, options?: RequestOptions): Promise<SetCompatibilityResponse>;
  validate(request: ValidatePayloadRequest, options?: RequestOptions): Promise<ValidatePayloadResponse>;
}

export function schemasApi(http: HttpClient): SchemasApi {
  return {
    register: (request, options) => registerSchema(http, request, options),
    list: (options) => listSubjects(http, options),
    get: (subject, params, options) => getSchema(http, subject, params, options),
    versions: (subject, options) => schemaVersions(http, subject, options),
    setCompatibility: (subject, compatibility, options) => setCompatibility(http, subject, compatibility, options),
    validate: (request, options) => validatePayload(http, request, options),
  };
}
