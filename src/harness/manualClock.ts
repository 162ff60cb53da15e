// Time that moves only when a test says so (the Clock the sidecar's token holder and feed run on).
import type { Clock } from '../sidecar/tokenHolder.js';

export class ManualClock implements Clock {
  private timers: { at: number; callback: () => void }[] = [];

  /** `settle` lets the work a timer started finish before time moves on (default: a few turns of the event loop). */
  constructor(public time: number, private readonly settle: () => Promise<void> = turns) {}

  now(): number {
    return this.time;
  }

  setTimer(callback: () => void, delayMs: number): () => void {
    const timer = { at: this.time + delayMs, callback };
    this.timers.push(timer);
    return () => { this.timers = this.timers.filter((t) => t !== timer); };
  }

  /** Advances time, firing due timers in order and letting the work they start finish. */
  async advance(ms: number): Promise<void> {
    const target = this.time + ms;
    for (;;) {
      await this.settle();
      const due = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.time = Math.max(this.time, due.at);
      due.callback();
    }
    this.time = target;
    await this.settle();
  }
}

async function turns(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}
