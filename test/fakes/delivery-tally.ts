import type { AddressInfo, Server } from 'node:net';

/**
 * What the many-endpoint receivers share (`counting-receiver.ts` for the tests, `bench/receiver.ts` for
 * the benchmark): follower n's URL on one of several listening ports of 127.0.0.1, and a tally of
 * deliveries by `webhook-id`, where a repeat (at-least-once delivery) is counted and never a second arrival.
 */
export abstract class DeliveryTally<S extends Server = Server> {
  /** webhook-id -> times it arrived. */
  readonly seen = new Map<string, number>();
  requests = 0;
  repeats = 0;
  /** Time (ms, performance.now) of the first and of the last first arrival of a webhook-id. */
  firstAt = 0;
  lastAt = 0;
  protected readonly servers: S[] = [];

  get ports(): number[] {
    return this.servers.map((s) => (s.address() as AddressInfo).port);
  }

  /** Follower n's URL, spread round-robin over the ports. */
  url(n: number): string {
    const ports = this.ports;
    return `http://127.0.0.1:${ports[n % ports.length]}/f/${n}`;
  }

  /** Distinct deliveries received (first arrivals of each webhook-id). */
  get unique(): number {
    return this.seen.size;
  }

  reset(): void {
    this.seen.clear();
    this.requests = this.repeats = this.firstAt = this.lastAt = 0;
  }

  /** Counts one arrival of `id`; true when it is the first. */
  protected arrived(id: string): boolean {
    const n = (this.seen.get(id) ?? 0) + 1;
    this.seen.set(id, n);
    if (n > 1) {
      this.repeats++;
      return false;
    }
    this.lastAt = performance.now();
    if (!this.firstAt) this.firstAt = this.lastAt;
    return true;
  }
}
