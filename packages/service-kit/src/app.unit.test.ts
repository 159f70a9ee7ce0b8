import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { inSequence } from './app';

const req = {} as Request;
const res = {} as Response;

/** Runs `inSequence(handlers)` and resolves with what it passed to the outer `next`. */
function run(handlers: RequestHandler[]): { calls: string[]; nextArgs: unknown[][] } {
  const calls: string[] = [];
  const nextArgs: unknown[][] = [];
  const traced = handlers.map((h, i) => ((rq: Request, rs: Response, next: NextFunction) => {
    calls.push(`h${i}`);
    return h(rq, rs, next);
  }) as RequestHandler);
  inSequence(traced)(req, res, ((...args: unknown[]) => nextArgs.push(args)) as NextFunction);
  return { calls, nextArgs };
}

const pass: RequestHandler = (_q, _s, next) => next();

describe('inSequence', () => {
  it('runs every handler in order, then the next layer once', () => {
    const { calls, nextArgs } = run([pass, pass, pass]);
    expect(calls).toEqual(['h0', 'h1', 'h2']);
    expect(nextArgs).toEqual([[]]);
  });

  it('stops at an error passed to next and hands it on', () => {
    const err = new Error('refused');
    const { calls, nextArgs } = run([pass, (_q, _s, next) => next(err), pass]);
    expect(calls).toEqual(['h0', 'h1']);
    expect(nextArgs).toEqual([[err]]);
  });

  it('stops at a thrown error and hands it on', () => {
    const err = new Error('thrown');
    const { calls, nextArgs } = run([
      pass,
      () => {
        throw err;
      },
      pass,
    ]);
    expect(calls).toEqual(['h0', 'h1']);
    expect(nextArgs).toEqual([[err]]);
  });

  it('does not go on when a handler answers without calling next', () => {
    const { calls, nextArgs } = run([pass, () => undefined, pass]);
    expect(calls).toEqual(['h0', 'h1']);
    expect(nextArgs).toEqual([]);
  });
});
