/**
 * Failures of the bytes themselves rather than of the connection. Both are internal to
 * the engine: transfer-file.ts turns them into a second try or a UserError.
 */

/** Size or digest differs from what the source vouched for. The whole file is fetched again once. */
export class IntegrityFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IntegrityFailure";
  }
}

/** A server answered a ranged part with something else (usually 200 and the whole file). */
export class RangesNotHonoured extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RangesNotHonoured";
  }
}
