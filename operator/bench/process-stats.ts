// Memory and CPU time of a process read from /proc (Linux only), so that the benchmark measures
// the operator process itself and not the benchmark around it.
import { readFileSync } from 'node:fs';

/** Resident memory of a process, in bytes. */
export interface MemoryReading {
  /** VmRSS: resident set size now. */
  rssBytes: number;
  /** VmHWM: the peak resident set size since the process started. */
  peakRssBytes: number;
}

/** Reads VmRSS and VmHWM of `pid` from /proc/PID/status. */
export function readMemory(pid: number): MemoryReading {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kibibytes = (field: string): number => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text);
    if (!match) throw new Error(`/proc/${pid}/status has no ${field} line`);
    return Number(match[1]) * 1024;
  };
  return { rssBytes: kibibytes('VmRSS'), peakRssBytes: kibibytes('VmHWM') };
}

/** Clock ticks per second of utime and stime; 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/** User plus system CPU time of `pid` so far, in seconds, from /proc/PID/stat. */
export function readCpuSeconds(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name in field 2 may contain spaces, so the fields are counted after its ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new Error(`/proc/${pid}/stat has no utime and stime fields: ${text.slice(0, 200)}`);
  }
  return (utime + stime) / CLOCK_TICKS_PER_SECOND;
}

/** Measures the CPU `pid` uses over `wallMs` of wall time, in cores (1 is one core busy). */
export async function measureCpu(pid: number, wallMs: number): Promise<CpuReading> {
  const startCpu = readCpuSeconds(pid);
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, wallMs));
  const cpuSeconds = readCpuSeconds(pid) - startCpu;
  const wallSeconds = (performance.now() - start) / 1000;
  return { cpuSeconds, wallSeconds, cores: cpuSeconds / wallSeconds };
}

export interface CpuReading {
  cpuSeconds: number;
  wallSeconds: number;
  cores: number;
}
