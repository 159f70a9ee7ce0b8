/**
 * Test helper: catching the AllSourceError an operation fails with, to assert on its code,
 * status and message.
 *
 *   expect(thrownError(() => toNewEvent(body, limits)).code).toBe('INVALID_INPUT');
 *   expect((await rejectedError(readProjectionState(p, opts))).status).toBe(404);
 */
import { AllSourceError } from '@allsource/errors';

/** The AllSourceError thrown by `fn`; fails the test when nothing (or something else) is thrown. */
export function thrownError(fn: () => unknown): AllSourceError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AllSourceError);
    return err as AllSourceError;
  }
  throw new Error('expected an AllSourceError, nothing was thrown');
}

/** The AllSourceError `promise` rejects with; fails the test when it resolves (or rejects with something else). */
export async function rejectedError(promise: Promise<unknown>): Promise<AllSourceError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(AllSourceError);
    return err as AllSourceError;
  }
  throw new Error('expected an AllSourceError, the promise resolved');
}
