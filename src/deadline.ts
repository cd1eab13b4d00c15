/**
 * Bounds a wait: the promise's outcome if it settles within `ms`, else a
 * rejection naming what took too long. The promise itself is not cancelled
 * (nothing in Node can cancel it); callers use this where giving up is
 * better than waiting forever, such as shutting down while ZooKeeper is gone.
 */
export class DeadlineExceededError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} did not finish within ${ms} ms`);
    this.name = 'DeadlineExceededError';
  }
}

export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceededError(what, ms)), ms);
    timer.unref();
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}
