/**
 * A point where a test holds the code under test (a store read, a network call): `reached` resolves
 * when the code gets there (it calls `reach()`), and the code waits on `released` until the test calls
 * `release()`. What the test does in between happens at that point of the code every time.
 */
export interface HoldPoint {
  readonly reached: Promise<void>;
  readonly released: Promise<void>;
  reach(): void;
  release(): void;
}

export function holdPoint(): HoldPoint {
  let reach!: () => void;
  let release!: () => void;
  const reached = new Promise<void>((r) => { reach = r; });
  const released = new Promise<void>((r) => { release = r; });
  return { reached, released, reach: () => reach(), release: () => release() };
}
