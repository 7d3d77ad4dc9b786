/**
 * The one error type of Berth and the table of OCI Distribution / Docker Registry error codes.
 * Domain code throws `BerthError`; only the HTTP edge turns it into a response.
 */

/** Every error code the registry API can answer with, per OCI Distribution Spec 1.1 and Docker v2. */
export const REGISTRY_ERRORS = {
  BLOB_UNKNOWN: { status: 404, message: 'blob unknown to registry' },
  BLOB_UPLOAD_INVALID: { status: 400, message: 'blob upload invalid' },
  BLOB_UPLOAD_UNKNOWN: { status: 404, message: 'blob upload unknown to registry' },
  DIGEST_INVALID: { status: 400, message: 'provided digest did not match uploaded content' },
  MANIFEST_BLOB_UNKNOWN: {
    status: 400,
    message: 'manifest references a manifest or blob unknown to registry',
  },
  MANIFEST_INVALID: { status: 400, message: 'manifest invalid' },
  MANIFEST_UNKNOWN: { status: 404, message: 'manifest unknown to registry' },
  NAME_INVALID: { status: 400, message: 'invalid repository name' },
  NAME_UNKNOWN: { status: 404, message: 'repository name not known to registry' },
  SIZE_INVALID: { status: 400, message: 'provided length did not match content length' },
  TAG_INVALID: { status: 400, message: 'manifest tag did not match URI' },
  UNAUTHORIZED: { status: 401, message: 'authentication required' },
  DENIED: { status: 403, message: 'requested access to the resource is denied' },
  UNSUPPORTED: { status: 415, message: 'the operation is unsupported' },
  TOOMANYREQUESTS: { status: 429, message: 'too many requests' },
  RANGE_INVALID: { status: 416, message: 'requested range not satisfiable' },
  MANIFEST_TOO_LARGE: { status: 413, message: 'manifest too large' },
  BODY_TOO_LARGE: { status: 413, message: 'request body too large' },
  STORAGE_FULL: { status: 507, message: "the registry's storage is full" },
  PAGINATION_NUMBER_INVALID: { status: 400, message: 'invalid number of results requested' },
  METHOD_UNKNOWN: { status: 405, message: 'the method is not supported for this resource' },
  NOT_FOUND: { status: 404, message: 'not found' },
  CONFLICT: { status: 409, message: 'already exists' },
  INVALID_REQUEST: { status: 400, message: 'invalid request' },
  INTERNAL: { status: 500, message: 'internal server error' },
  UNAVAILABLE: { status: 503, message: 'a service Berth depends on is unavailable' },
  // The Notary trust service's codes (notary-server's errcode table).
  METADATA_NOT_FOUND: { status: 404, message: 'You have requested metadata that does not exist.' },
  INVALID_UPDATE: { status: 400, message: 'Update sent by the client is invalid.' },
  VERSION: { status: 400, message: 'A newer version of metadata is already available.' },
  MALFORMED_UPLOAD: { status: 400, message: 'The body of your request is malformed.' },
  MALFORMED_JSON: { status: 400, message: 'JSON sent by the client could not be parsed.' },
  NO_FILENAME: { status: 400, message: 'No file name was given for an uploaded part.' },
  INVALID_ROLE: { status: 400, message: 'The role you are attempting to operate on is invalid.' },
  INVALID_PARAMETERS: { status: 400, message: 'The parameters you sent are invalid.' },
} as const satisfies Record<string, { status: number; message: string }>;

/** A code from the registry error table. */
export type RegistryErrorCode = keyof typeof REGISTRY_ERRORS;

/** Codes that are Berth's own refinements; on the wire they travel as the OCI code they map to. */
const WIRE_CODE: Partial<Record<RegistryErrorCode, string>> = {
  RANGE_INVALID: 'BLOB_UPLOAD_INVALID',
  MANIFEST_TOO_LARGE: 'SIZE_INVALID',
  BODY_TOO_LARGE: 'SIZE_INVALID',
  METHOD_UNKNOWN: 'UNSUPPORTED',
  NOT_FOUND: 'NAME_UNKNOWN',
  CONFLICT: 'DENIED',
  INVALID_REQUEST: 'UNSUPPORTED',
  INTERNAL: 'UNKNOWN',
  UNAVAILABLE: 'UNKNOWN',
};

/**
 * Marks Berth's errors, so that one made by a second copy of this module (the S3 driver loads its
 * own, see kit/process-shared.ts) is still a BerthError to the HTTP edge, not a 500.
 */
const BERTH_ERROR = Symbol.for('berth.error');

/** Berth's error: a string code from the table, an optional detail object and the cause. */
export class BerthError extends Error {
  readonly code: RegistryErrorCode;
  readonly detail: unknown;
  readonly [BERTH_ERROR] = true;

  /** `instanceof` by the mark, not the prototype: true for a BerthError of any copy. */
  static override [Symbol.hasInstance](value: unknown): value is BerthError {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[BERTH_ERROR] === true
    );
  }

  constructor(
    code: RegistryErrorCode,
    message?: string,
    detail?: unknown,
    options?: { cause?: unknown },
  ) {
    // A client's mistake (4xx: an unknown blob's HEAD, a ping without credentials) is answered,
    // never debugged: the stack V8 would capture for it (tens of µs, on every such request) is
    // not taken. A server error keeps its stack.
    const stackTraceLimit = Error.stackTraceLimit;
    if (REGISTRY_ERRORS[code].status < 500) Error.stackTraceLimit = 0;
    super(message ?? REGISTRY_ERRORS[code].message, options);
    Error.stackTraceLimit = stackTraceLimit;
    this.name = 'BerthError';
    this.code = code;
    this.detail = detail;
  }

  /** The HTTP status this error answers with. */
  get status(): number {
    return REGISTRY_ERRORS[this.code].status;
  }

  /** The code written in the `errors[].code` field of the response. */
  get wireCode(): string {
    return WIRE_CODE[this.code] ?? this.code;
  }

  /** The OCI error body: `{"errors":[{"code","message","detail"}]}`. */
  toBody(): { errors: { code: string; message: string; detail: unknown }[] } {
    return { errors: [{ code: this.wireCode, message: this.message, detail: this.detail ?? {} }] };
  }
}
