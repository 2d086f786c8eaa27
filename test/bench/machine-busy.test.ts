import { describe, expect, it } from 'vitest';
import { cpuMsOf, machineBusyMs } from '../../bench/memory.js';

describe('machineBusyMs (the bench\'s whole-machine CPU, from /proc/stat)', () => {
  it('counts at least the CPU this process spends in a busy loop, and never runs backwards', () => {
    const machine0 = machineBusyMs();
    const self0 = cpuMsOf(process.pid);
    const until = Date.now() + 300;
    let x = 0;
    while (Date.now() < until) x += Math.sqrt(x + 1);
    const self = cpuMsOf(process.pid) - self0;
    const machine = machineBusyMs() - machine0;
    expect(x).toBeGreaterThan(0);
    expect(self).toBeGreaterThanOrEqual(200);
    // /proc counts in ticks of 10 ms: allow two ticks of rounding between the two readings.
    expect(machine).toBeGreaterThanOrEqual(self - 20);
    expect(machineBusyMs()).toBeGreaterThanOrEqual(machine0 + machine);
  });
});
