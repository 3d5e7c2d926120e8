// Loopback addresses handed to pods, one per pod, from a range inside 127.0.0.0/8.

function toNumber(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`invalid IPv4 address ${JSON.stringify(ip)}`);
  }
  return parts.reduce((sum, part) => sum * 256 + part, 0);
}

function toAddress(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/**
 * Allocates addresses round-robin from a CIDR, skipping the network's first two addresses (the
 * first, and 127.0.0.1 in the default range, belong to the host) and every address ending in
 * .0 or .255. Round-robin delays the reuse of a freed address, so that a client still holding
 * an old pod's address does not reach a new pod.
 */
export class IpPool {
  private readonly first: number;
  private readonly last: number;
  private next: number;
  private readonly used = new Set<number>();

  constructor(cidr: string) {
    const [base, bitsText] = cidr.split('/');
    const bits = Number(bitsText);
    if (!base || !Number.isInteger(bits) || bits < 8 || bits > 30) {
      throw new Error(
        `invalid pod CIDR ${JSON.stringify(cidr)}: expected a form like 127.0.0.0/16`,
      );
    }
    const size = 2 ** (32 - bits);
    const network = Math.floor(toNumber(base) / size) * size;
    if (Math.floor(network / 2 ** 24) !== 127) {
      throw new Error(`pod CIDR ${cidr} is outside 127.0.0.0/8: pods must get loopback addresses`);
    }
    this.first = network + 2;
    this.last = network + size - 2;
    this.next = this.first;
  }

  private isUsable(value: number): boolean {
    const lastOctet = value % 256;
    return lastOctet !== 0 && lastOctet !== 255 && !this.used.has(value);
  }

  allocate(): string {
    const span = this.last - this.first + 1;
    for (let i = 0; i < span; i++) {
      const candidate = this.first + ((this.next - this.first + i) % span);
      if (this.isUsable(candidate)) {
        this.used.add(candidate);
        this.next = candidate + 1 > this.last ? this.first : candidate + 1;
        return toAddress(candidate);
      }
    }
    throw new Error(`no free pod address left in ${toAddress(this.first)}-${toAddress(this.last)}`);
  }

  /** Marks an address as used, for pods adopted after a restart; false when it is outside the range or taken. */
  reserve(ip: string): boolean {
    const value = toNumber(ip);
    if (value < this.first || value > this.last || !this.isUsable(value)) {
      return false;
    }
    this.used.add(value);
    return true;
  }

  release(ip: string): void {
    this.used.delete(toNumber(ip));
  }

  get size(): number {
    return this.used.size;
  }
}
