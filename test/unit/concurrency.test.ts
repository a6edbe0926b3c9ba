import { describe, expect, it } from 'vitest';
import { limiter, mapLimit } from '../../shared/concurrency.js';

describe('mapLimit', () => {
  it('keeps input order with at most `limit` running', async () => {
    let running = 0;
    let peak = 0;
    const out = await mapLimit([5, 1, 4, 2, 3], 2, async (n) => {
      peak = Math.max(peak, ++running);
      await new Promise((r) => setTimeout(r, n));
      running--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30]);
    expect(peak).toBe(2);
  });

  it('on a throw: starts nothing more, and rejects only once the calls already running have finished', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    let releaseSlow!: () => void;
    const slow = new Promise<void>((r) => (releaseSlow = r));
    const run = mapLimit([0, 1, 2, 3], 2, async (i) => {
      started.push(i);
      if (i === 0) await slow; // still running when item 1 throws
      if (i === 1) throw new Error('boom');
      finished.push(i);
      return i;
    });
    let settled = false;
    run.catch(() => undefined).finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(settled).toBe(false); // item 0 is still running: the caller must not go on yet
    releaseSlow();
    await expect(run).rejects.toThrow('boom');
    expect(finished).toEqual([0]);
    expect(started).toEqual([0, 1]); // nothing started after the failure
  });
});

describe('limiter', () => {
  it('whenIdle resolves once nothing runs or waits; full says whether a call would wait', async () => {
    const gate = limiter(1);
    expect(gate.full()).toBe(false);
    let releaseFirst!: () => void;
    const first = gate(() => new Promise<void>((r) => (releaseFirst = r)));
    const second = gate(async () => 'second');
    expect(gate.full()).toBe(true);
    let idle = false;
    const whenIdle = gate.whenIdle().then(() => (idle = true));
    await Promise.resolve();
    expect(idle).toBe(false);
    releaseFirst();
    await first;
    expect(idle).toBe(false); // the slot passed to the waiting call
    expect(await second).toBe('second');
    await whenIdle;
    expect(idle).toBe(true);
    expect(gate.full()).toBe(false);
    await gate.whenIdle(); // idle already: resolves on the next turn
  });
});
