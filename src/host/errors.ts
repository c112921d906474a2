/**
 * The host's errors for the API: an HTTP status, a problem code (the server turns it into
 * application/problem+json `/problems.html#<code>`), and a message that says
 * what to do about it. See docs/CONTRACTS.md ("HostError").
 */
export type HostErrorCode =
  | 'not-found'
  | 'wrong-state'
  | 'name-taken'
  | 'image-in-use'
  | 'network-in-use'
  | 'mac-taken'
  | 'ip-taken'
  | 'over-limit'
  | 'quota-exceeded'
  | 'bad-image'
  | 'invalid'
  | (string & {});

export class HostError extends Error {
  override name = 'HostError';
  constructor(
    readonly status: number,
    readonly code: HostErrorCode,
    message: string,
    readonly extra?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export function isHostError(e: unknown): e is HostError {
  return e instanceof HostError;
}
