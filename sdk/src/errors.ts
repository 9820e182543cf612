/**
 * Typed errors. Every failure the runtime reports is an `SsotError` carrying the server's problem+json fields
 * (`status`, `code`, `type`, `title`, `detail`, `errors`), so callers branch on `code` rather than on message
 * text; the subclasses mark failures that did not come from the server (network, timeout, lost connection).
 */

/** One field's error inside a problem (`data.email: expected a string`). */
export interface ProblemFieldError {
  path: string;
  message: string;
}

/** An RFC 9457 problem as ssot sends it. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  errors?: ProblemFieldError[];
  [extra: string]: unknown;
}

export class SsotError extends Error {
  /** The HTTP status (the socket reports the same one); 0 when there was no answer. */
  readonly status: number;
  /** The problem's `code` (`not_found`, `forbidden`, …), or the runtime's own (`timeout`, `network_error`). */
  readonly code: string;
  readonly type: string | undefined;
  readonly title: string | undefined;
  readonly detail: string | undefined;
  readonly errors: ProblemFieldError[];
  /** The problem body as received, extensions included. */
  readonly problem: Problem;

  constructor(problem: Problem, fallbackStatus = 0) {
    const status = typeof problem.status === 'number' ? problem.status : fallbackStatus;
    const code = typeof problem.code === 'string' ? problem.code : `http_${status}`;
    super(problem.detail ?? problem.title ?? code);
    this.name = 'SsotError';
    this.status = status;
    this.code = code;
    this.type = problem.type;
    this.title = problem.title;
    this.detail = problem.detail;
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
    this.problem = problem;
  }
}

/** The request could not reach the server, or its answer could not be read. */
export class NetworkError extends SsotError {
  constructor(detail: string, override readonly cause?: unknown) {
    super({ code: 'network_error', title: 'Network error', detail });
    this.name = 'NetworkError';
  }
}

/** No answer within the request's timeout. Over HTTP the request is aborted; its write may still have run. */
export class TimeoutError extends SsotError {
  constructor(readonly timeoutMs: number) {
    super({ code: 'timeout', title: 'Timeout', detail: `no answer within ${timeoutMs} ms` });
    this.name = 'TimeoutError';
  }
}

/**
 * The socket closed after the request was sent and before its answer: whether a write ran is unknown, so it
 * is not resent (the caller decides).
 */
export class ConnectionLostError extends SsotError {
  constructor(detail = 'the connection closed before the answer came') {
    super({ code: 'connection_lost', title: 'Connection lost', detail });
    this.name = 'ConnectionLostError';
  }
}

/** The client was disconnected (`disconnect()`), so the request or subscription ended. */
export class ClosedError extends SsotError {
  constructor() {
    super({ code: 'client_closed', title: 'Client closed', detail: 'the client was disconnected' });
    this.name = 'ClosedError';
  }
}

/** Reads a problem out of an answer body that may or may not be one. */
export function toProblem(body: unknown, status: number): Problem {
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    return { status, ...(body as Problem) };
  }
  return { status, code: `http_${status}`, detail: typeof body === 'string' && body ? body : `HTTP ${status}` };
}
