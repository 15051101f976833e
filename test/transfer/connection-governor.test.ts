import { describe, expect, it } from "vitest";
import { ConnectionGovernor, type GovernorLimits, type SlotUse } from "../../src/transfer/connection-governor.js";

const WINDOW_MS = 250;
/** Every slot busy and work waiting for more. */
const saturated: SlotUse = { allBusy: true, waiting: true };
const limits: GovernorLimits = { start: 8, max: 16, step: 4, gain: 1.2 };

/** Windows each governor has been driven through by `run`: its fake clock. */
const windowsRun = new WeakMap<ConnectionGovernor, number>();

/**
 * Drives a governor on a fake clock: each window, bytes arrive at `rateFor(slots)` bytes
 * per ms for the slots it has then, and the window is closed with `useAt(window)`.
 * Returns the slot count after every window.
 */
function run(
  governor: ConnectionGovernor,
  windows: number,
  rateFor: (slots: number) => number,
  useAt: (window: number) => SlotUse = () => saturated,
): number[] {
  const counts: number[] = [];
  const first = (windowsRun.get(governor) ?? 0) + 1;
  for (let window = first; window < first + windows; window++) {
    governor.received(rateFor(governor.slots) * WINDOW_MS);
    governor.tick(window * WINDOW_MS, useAt(window));
    counts.push(governor.slots);
  }
  windowsRun.set(governor, first + windows - 1);
  return counts;
}

/** A per-connection cap: throughput grows with every slot. */
const perConnectionCap = (slots: number) => slots * 25_000;
/** A CPU-bound link: the same throughput whatever the count. */
const cpuBound = () => 1_000_000;

describe("ConnectionGovernor", () => {
  it("raises by a step while each step pays, up to the cap, then stays", () => {
    const governor = new ConnectionGovernor(limits, 0);
    // warm-up, measure 8, steady → 12, warm-up, measure 12 (1.5×: kept), steady → 16,
    // warm-up, measure 16 (1.33×: kept): at the cap.
    expect(run(governor, 10, perConnectionCap)).toEqual([8, 8, 12, 12, 12, 16, 16, 16, 16, 16]);
    expect(governor.settled).toBe(true);
  });

  it("goes back one step and stops probing when a step does not pay", () => {
    const governor = new ConnectionGovernor(limits, 0);
    expect(run(governor, 8, cpuBound)).toEqual([8, 8, 12, 12, 8, 8, 8, 8]);
    expect(governor.settled).toBe(true);
    // Even when more would now pay, this transfer does not probe again.
    expect(run(governor, 6, perConnectionCap)).toEqual([8, 8, 8, 8, 8, 8]);
  });

  it("keeps a step that pays and goes back to it when the next does not", () => {
    const governor = new ConnectionGovernor({ start: 8, max: 20, step: 4, gain: 1.2 }, 0);
    // Gains up to 12 connections, nothing beyond (a link of 12 × 25 kB/ms).
    const rate = (slots: number) => Math.min(slots, 12) * 25_000;
    expect(run(governor, 8, rate)).toEqual([8, 8, 12, 12, 12, 16, 16, 12]);
    expect(governor.settled).toBe(true);
  });

  it("needs the whole gain: 1.19× is not enough", () => {
    const governor = new ConnectionGovernor(limits, 0);
    const rate = (slots: number) => (slots > 8 ? 1.19 : 1) * 100_000;
    expect(run(governor, 5, rate)).toEqual([8, 8, 12, 12, 8]);
  });

  it("never goes above the cap nor below the start", () => {
    const governor = new ConnectionGovernor({ start: 8, max: 10, step: 4, gain: 1.2 }, 0);
    expect(run(governor, 6, perConnectionCap)).toEqual([8, 8, 10, 10, 10, 10]);
    // A count that is worse than the start goes back to the start, not below.
    const worse = new ConnectionGovernor(limits, 0);
    const counts = run(worse, 8, (slots) => (slots > 8 ? 1 : 1_000_000));
    expect(Math.min(...counts)).toBe(8);
    expect(Math.max(...counts)).toBe(12);
  });

  it("does not take a transfer's own start-up climb for a gain", () => {
    // 1 GiB over TLS on loopback, a fixed 8 connections (docs/bench.md, tenth round): the
    // rate climbs for four windows whatever the count, then holds.
    const climb = [130, 340, 460, 516, 505, 500, 505, 500].map((mibPerSec) => mibPerSec * 1000);
    const governor = new ConnectionGovernor(limits, 0);
    let window = 0;
    // 340 → 460 is still a climb (1.35×); 516 is steady (1.12×): the step to 12 is judged
    // against 516, not against 340, and goes back.
    expect(run(governor, 8, () => climb[window++]!)).toEqual([8, 8, 8, 12, 12, 8, 8, 8]);
    expect(governor.settled).toBe(true);
  });

  it("does nothing when the start is already the cap", () => {
    const governor = new ConnectionGovernor({ start: 8, max: 8, step: 4, gain: 1.2 }, 0);
    expect(governor.settled).toBe(true);
    expect(run(governor, 5, perConnectionCap)).toEqual([8, 8, 8, 8, 8]);
  });

  it("does not probe while slots are idle or no work waits", () => {
    const idle = new ConnectionGovernor(limits, 0);
    expect(run(idle, 6, perConnectionCap, () => ({ allBusy: false, waiting: true }))).toEqual([8, 8, 8, 8, 8, 8]);
    expect(idle.settled).toBe(false);
    const nothingWaits = new ConnectionGovernor(limits, 0);
    expect(run(nothingWaits, 6, perConnectionCap, () => ({ allBusy: true, waiting: false }))).toEqual([
      8, 8, 8, 8, 8, 8,
    ]);
    expect(nothingWaits.settled).toBe(false);
    // Once work waits, it probes.
    expect(run(nothingWaits, 1, perConnectionCap)).toEqual([12]);
  });

  it("judges a step with every slot busy even when nothing more waits", () => {
    const governor = new ConnectionGovernor(limits, 0);
    expect(run(governor, 3, perConnectionCap)).toEqual([8, 8, 12]);
    // 12 workers on 12 slots: nothing waits, but the step is judged (here: no gain, back to 8).
    const asOn8 = () => perConnectionCap(8);
    expect(run(governor, 2, asOn8, () => ({ allBusy: true, waiting: false }))).toEqual([12, 8]);
    expect(governor.settled).toBe(true);
  });

  it("skips the window after slots were idle, and the window after a change", () => {
    const governor = new ConnectionGovernor(limits, 0);
    // Window 1 warms up, window 2 is not saturated, so window 3 warms up again, window 4
    // is the first measured and window 5 the first that can show a steady rate.
    const idleInWindow2 = (window: number) => ({ allBusy: window !== 2, waiting: true });
    expect(run(governor, 5, perConnectionCap, idleInWindow2)).toEqual([8, 8, 8, 8, 12]);
    // The first window on 12 slots is a warm-up however slow it is: no step back yet.
    governor.received(1);
    expect(governor.tick(6 * WINDOW_MS, saturated)).toBeUndefined();
    expect(governor.slots).toBe(12);
  });

  it("ignores the warm-up window's bytes when judging a step", () => {
    const governor = new ConnectionGovernor(limits, 0);
    run(governor, 3, () => 100_000); // warm-up, then 8 measured twice at 100 kB/ms → 12
    // The warm-up window on 12 is slow (new connections ramping up), the next one pays.
    governor.received(10 * WINDOW_MS);
    governor.tick(4 * WINDOW_MS, saturated);
    governor.received(130_000 * WINDOW_MS);
    governor.tick(5 * WINDOW_MS, saturated);
    expect(governor.slots).toBe(12);
    // Kept: one more steady window on 12, then the next step.
    governor.received(130_000 * WINDOW_MS);
    governor.tick(6 * WINDOW_MS, saturated);
    expect(governor.slots).toBe(16);
  });

  it("measures a rate, not a byte count: windows may differ in length", () => {
    const governor = new ConnectionGovernor(limits, 0);
    governor.tick(250, saturated);
    governor.received(100 * 250);
    expect(governor.tick(500, saturated)).toBeUndefined();
    // Twice the bytes over twice the time: the same rate, so it is steady.
    governor.received(2 * 100 * 250);
    expect(governor.tick(1000, saturated)).toBe(12);
    governor.tick(1250, saturated);
    // The same again on 12: the step did not pay.
    governor.received(2 * 100 * 250);
    expect(governor.tick(1750, saturated)).toBe(8);
  });

  it("refuses limits it cannot work with", () => {
    expect(() => new ConnectionGovernor({ start: 8, max: 4, step: 4, gain: 1.2 }, 0)).toThrow(RangeError);
    expect(() => new ConnectionGovernor({ start: 0, max: 4, step: 4, gain: 1.2 }, 0)).toThrow(RangeError);
    expect(() => new ConnectionGovernor({ start: 8, max: 16, step: 4, gain: 1 }, 0)).toThrow(RangeError);
  });
});
