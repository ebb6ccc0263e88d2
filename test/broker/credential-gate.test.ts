import { describe, expect, it } from 'vitest';
import { abandoned, createCredentialGate } from '../../broker/credential-gate.js';

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('credential gate', () => {
  it('runs at most `concurrency` checks at once, in arrival order', async () => {
    const gate = createCredentialGate({ concurrency: 2 });
    const started: number[] = [];
    const holds = Array.from({ length: 5 }, () => deferred<number>());
    const results = holds.map((h, i) => gate.run(() => true, () => {
      started.push(i);
      return h.promise;
    }));
    await tick();
    expect(started).toEqual([0, 1]);
    expect(gate.waiting()).toBe(3);
    holds[1]!.resolve(1);
    await tick();
    expect(started).toEqual([0, 1, 2]);
    holds[0]!.resolve(0);
    holds[2]!.resolve(2);
    await tick();
    expect(started).toEqual([0, 1, 2, 3, 4]);
    holds[3]!.resolve(3);
    holds[4]!.resolve(4);
    expect(await Promise.all(results)).toEqual([0, 1, 2, 3, 4]);
    expect(gate.waiting()).toBe(0);
  });

  it('skips the check of a client gone while it waited', async () => {
    const gate = createCredentialGate({ concurrency: 1 });
    const first = deferred<string>();
    const ran: string[] = [];
    let secondStillThere = true;
    const a = gate.run(() => true, () => {
      ran.push('a');
      return first.promise;
    });
    const b = gate.run(() => secondStillThere, async () => {
      ran.push('b');
      return 'b';
    });
    const c = gate.run(() => true, async () => {
      ran.push('c');
      return 'c';
    });
    secondStillThere = false;
    first.resolve('a');
    expect(await Promise.all([a, b, c])).toEqual(['a', abandoned, 'c']);
    expect(ran).toEqual(['a', 'c']);
  });

  it('a check that fails rejects its own caller only and frees its slot', async () => {
    const gate = createCredentialGate({ concurrency: 1 });
    const failing = gate.run(() => true, () => Promise.reject(new Error('registry down')));
    const next = gate.run(() => true, async () => 'ok');
    await expect(failing).rejects.toThrow('registry down');
    expect(await next).toBe('ok');
  });

  it('urgent checks (service accounts) go before the devices waiting; a check that throws frees its slot', async () => {
    const gate = createCredentialGate({ concurrency: 1 });
    const hold = deferred<string>();
    const order: string[] = [];
    const first = gate.run(() => true, () => {
      order.push('d0');
      return hold.promise;
    });
    const devices = ['d1', 'd2'].map((d) => gate.run(() => true, async () => {
      order.push(d);
      return d;
    }));
    const service = gate.run(() => true, async () => {
      order.push('ingest');
      return 'ingest';
    }, { urgent: true });
    const throwing = gate.run(() => true, (): Promise<string> => {
      order.push('throws');
      throw new Error('synchronous');
    }, { urgent: true });
    expect(gate.waiting()).toBe(4);
    hold.resolve('d0');
    expect(await Promise.all([first, service, ...devices])).toEqual(['d0', 'ingest', 'd1', 'd2']);
    await expect(throwing).rejects.toThrow('synchronous');
    expect(order).toEqual(['d0', 'ingest', 'throws', 'd1', 'd2']);
  });

  it('while devices wait, at most 3 urgent checks run in a row (a claimed name cannot starve them); a stillWaiting that throws fails its caller only', async () => {
    const gate = createCredentialGate({ concurrency: 1 });
    const hold = deferred<string>();
    const order: string[] = [];
    const job = (name: string) => async () => {
      order.push(name);
      return name;
    };
    const first = gate.run(() => true, () => hold.promise);
    const device = gate.run(() => true, job('device'));
    const urgent = ['u1', 'u2', 'u3', 'u4', 'u5'].map((u) => gate.run(() => true, job(u), { urgent: true }));
    const broken = gate.run(() => {
      throw new Error('lookup failed');
    }, job('never'));
    const last = gate.run(() => true, job('last'));
    hold.resolve('first');
    await expect(broken).rejects.toThrow('lookup failed');
    await Promise.all([first, device, last, ...urgent]);
    expect(order).toEqual(['u1', 'u2', 'u3', 'device', 'u4', 'u5', 'last']);
    expect(gate.waiting()).toBe(0);
  });

  it('urgent checks run with no device waiting do not count: a device arriving after them still queues behind the next urgent one', async () => {
    const gate = createCredentialGate({ concurrency: 1 });
    const order: string[] = [];
    const job = (name: string) => async () => {
      order.push(name);
      return name;
    };
    await Promise.all(['u1', 'u2', 'u3'].map((u) => gate.run(() => true, job(u), { urgent: true })));
    const hold = deferred<string>();
    const busy = gate.run(() => true, () => hold.promise, { urgent: true });
    const device = gate.run(() => true, job('device'));
    const ingest = gate.run(() => true, job('ingest'), { urgent: true });
    hold.resolve('busy');
    await Promise.all([busy, device, ingest]);
    expect(order).toEqual(['u1', 'u2', 'u3', 'ingest', 'device']);
  });

  it('refuses a concurrency below 1', () => {
    expect(() => createCredentialGate({ concurrency: 0 })).toThrow(RangeError);
  });
});
