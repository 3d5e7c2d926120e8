/** Source of the current time, injected so time-dependent logic can be tested. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** Formats a time the way the apiserver writes metav1.Time: RFC 3339 in seconds. */
export function toKubeTime(time: Date): string {
  return time.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Formats metav1.MicroTime, RFC 3339 with microseconds, as events.k8s.io requires. */
export function toMicroTime(time: Date): string {
  return time.toISOString().replace(/Z$/, '000Z');
}
