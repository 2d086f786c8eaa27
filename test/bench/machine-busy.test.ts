import { describe, expect, it } from 'vitest';
import { cpuMsOf, machineBusyMs } from '../../bench/memory.js';

describe('machineBusyMs (the bench\'s whole-machine CPU, from /proc/stat)', () => {
  it('counts at least the CPU this process spends in a busy loop, and never runs backwards', () => {
    const machine0 = machineBusyMs();
    const self0 = cpuMsOf(process.pid);
    // Spin until this process has used 200 ms of CPU (however long a busy machine takes to give it that).
    const giveUp = Date.now() + 20_000;
    let x = 0;
    while (cpuMsOf(process.pid) - self0 < 200 && Date.now() < giveUp) for (let i = 0; i < 100_000; i++) x += Math.sqrt(x + i);
    const self = cpuMsOf(process.pid) - self0;
    const machine = machineBusyMs() - machine0;
    expect(x).toBeGreaterThan(0);
    expect(self).toBeGreaterThanOrEqual(200);
    // Both count in ticks of 10 ms: allow two ticks of rounding between the two readings.
    expect(machine).toBeGreaterThanOrEqual(self - 20);
    expect(machineBusyMs()).toBeGreaterThanOrEqual(machine0 + machine);
  });
});
