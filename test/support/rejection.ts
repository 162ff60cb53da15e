// Awaiting an expected failure: the error a promise rejects with, or a test failure if it resolves.
import { expect } from 'chai';

export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(Error);
    return error as Error;
  }
  return expect.fail('expected a rejection, but the promise resolved');
}
