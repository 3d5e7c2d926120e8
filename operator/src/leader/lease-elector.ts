// Leader election with a coordination.k8s.io/v1 Lease, following client-go's rules. The holder
// renews every retry period. A candidate takes over once the Lease has not changed for its
// duration, measured on the candidate's own clock, so clock skew between nodes cannot shorten
// it. The leader steps down when it could not renew within the renew deadline, and release on
// shutdown clears the holder so that a standby takes over at once.
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { errorMessage, isConflict, isNotFound } from '../errors.ts';
import { RESOURCES, resourcePath, type KubeClient } from '../kube/client.ts';
import { toMicroTime, type Clock } from '../util/clock.ts';

interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export interface ElectorOptions {
  client: KubeClient;
  log: Logger;
  clock: Clock;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export function defaultIdentity(): string {
  return process.env.POD_NAME ?? `${hostname()}_${process.pid}`;
}

export class LeaseElector {
  private readonly options: ElectorOptions;
  private readonly abort = new AbortController();
  /** The last Lease read and the local time it was first seen in that state. */
  private observed: { holder?: string; renewTime?: string; at: number } | undefined;
  private leading = false;

  constructor(options: ElectorOptions) {
    if (options.renewDeadlineMs >= options.leaseDurationMs) {
      throw new Error('the renew deadline must be shorter than the lease duration');
    }
    this.options = options;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /**
   * Campaigns until this process leads, then renews. Resolves with true when leadership was lost
   * and false when stop() ended the campaign.
   */
  async run(onStartedLeading: () => void): Promise<boolean> {
    const { log, retryPeriodMs } = this.options;
    while (!this.stopped) {
      if (await this.tryAcquireOrRenew()) {
        this.leading = true;
        log.info({ lease: this.options.name, identity: this.options.identity }, 'became leader');
        onStartedLeading();
        return this.renewLoop();
      }
      await this.sleep(retryPeriodMs);
    }
    return false;
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private async renewLoop(): Promise<boolean> {
    const { log, retryPeriodMs, renewDeadlineMs } = this.options;
    let lastRenew = Date.now();
    while (!this.stopped) {
      await this.sleep(retryPeriodMs);
      if (this.stopped) return false;
      if (await this.tryAcquireOrRenew()) {
        lastRenew = Date.now();
      } else if (Date.now() - lastRenew >= renewDeadlineMs) {
        this.leading = false;
        log.error(
          { lease: this.options.name },
          'lost leadership: lease not renewed within the renew deadline',
        );
        return true;
      }
    }
    return false;
  }

  /** Stops campaigning or renewing and, if leading, releases the Lease. */
  async stop(): Promise<void> {
    this.abort.abort();
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.read();
      if (lease?.spec.holderIdentity !== this.options.identity) return;
      const now = toMicroTime(this.options.clock.now());
      lease.spec = {
        ...lease.spec,
        holderIdentity: '',
        leaseDurationSeconds: 1,
        renewTime: now,
        acquireTime: now,
      };
      await this.options.client.replace(this.path(), lease);
      this.options.log.info({ lease: this.options.name }, 'released leadership');
    } catch (error) {
      this.options.log.warn(
        { err: errorMessage(error) },
        'releasing the lease failed; a standby takes over after it expires',
      );
    }
  }

  private path(withName = true): string {
    return resourcePath(
      RESOURCES.leases,
      this.options.namespace,
      withName ? this.options.name : undefined,
    );
  }

  private async read(): Promise<Lease | undefined> {
    try {
      return await this.options.client.get<Lease>(this.path());
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Tries once to acquire or renew; returns false while another holder's lease is valid. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { client, identity, leaseDurationMs, log } = this.options;
    const now = this.options.clock.now();
    const spec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
      renewTime: toMicroTime(now),
    };
    try {
      const lease = await this.read();
      if (!lease) {
        await client.create(this.path(false), {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.options.name, namespace: this.options.namespace },
          spec: { ...spec, acquireTime: spec.renewTime, leaseTransitions: 0 },
        });
        return true;
      }
      const holder = lease.spec.holderIdentity;
      this.observe(holder, lease.spec.renewTime, now.getTime());
      const heldByOther = Boolean(holder) && holder !== identity;
      const validForMs = (lease.spec.leaseDurationSeconds ?? 0) * 1000;
      if (heldByOther && now.getTime() - (this.observed?.at ?? 0) < validForMs) return false;
      const transitions = (lease.spec.leaseTransitions ?? 0) + (holder === identity ? 0 : 1);
      lease.spec = {
        ...lease.spec,
        ...spec,
        acquireTime: holder === identity ? lease.spec.acquireTime : spec.renewTime,
        leaseTransitions: transitions,
      };
      await client.replace(this.path(), lease);
      if (holder !== identity) log.info({ previousHolder: holder ?? '' }, 'acquired the lease');
      return true;
    } catch (error) {
      // A conflict means another candidate wrote first; the next attempt reads its write.
      if (!isConflict(error)) log.warn({ err: errorMessage(error) }, 'lease update failed');
      return false;
    }
  }

  private observe(holder: string | undefined, renewTime: string | undefined, at: number): void {
    if (this.observed?.holder !== holder || this.observed?.renewTime !== renewTime) {
      this.observed = { holder, renewTime, at };
    }
  }

  private async sleep(ms: number): Promise<void> {
    try {
      await delay(ms, undefined, { signal: this.abort.signal });
    } catch {
      // stop() aborted the wait; the callers check `stopped` next.
    }
  }
}
