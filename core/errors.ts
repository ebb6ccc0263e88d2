/**
 * What kind of refusal an error is, whatever part raised it. The API answers each category with
 * one status (api/plugins/app/errors.ts): not_found 404, invalid 400, conflict 409,
 * unprocessable 422 (the request is well-formed but the data cannot support an answer), and
 * unavailable 503 (an outage: retry later; its message is not shown, it may name internals).
 */
export const errorCategories = ['not_found', 'invalid', 'conflict', 'unavailable', 'unprocessable'] as const;
export type ErrorCategory = (typeof errorCategories)[number];

/** Which part of an input is wrong: `path` inside it (dotted), and why; `in` names the input (`body`, `querystring`). */
export interface ErrorDetail {
  readonly in?: string;
  readonly path: string;
  readonly message: string;
}

/**
 * An error that says what it is: a stable `code` callers may test (and the API answers with), and
 * its `category`. Each part extends it with its own codes (AlarmError, ReportError, DuplicateError …).
 */
export class CodedError extends Error {
  override name = 'CodedError';
  readonly details?: readonly ErrorDetail[];
  constructor(
    readonly code: string,
    readonly category: ErrorCategory,
    message: string,
    options?: { cause?: unknown; details?: readonly ErrorDetail[] },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    if (options?.details) this.details = options.details;
  }
}
