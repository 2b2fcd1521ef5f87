/**
 * Wall-clock time for RTCP (RFC 3550 §4: NTP timestamps, seconds since 1900-01-01 in 32.32 fixed
 * point) and a process-wide nanosecond clock that reads the same on the main thread and in Workers.
 */
const NTP_UNIX_OFFSET_SECONDS = 2_208_988_800n;
const NS_PER_SECOND = 1_000_000_000n;

/**
 * Nanoseconds since the Unix epoch, from the monotonic high-resolution clock anchored at the
 * thread's time origin. Workers have their own `performance.timeOrigin`, so the sum, not
 * `performance.now()` alone, is what both sides of a postMessage can compare.
 */
export function nowNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
}

/** 64-bit NTP timestamp for an instant given in Unix-epoch nanoseconds. */
export function ntpFromUnixNs(unixNs: bigint): bigint {
  const seconds = unixNs / NS_PER_SECOND + NTP_UNIX_OFFSET_SECONDS;
  const fraction = ((unixNs % NS_PER_SECOND) << 32n) / NS_PER_SECOND;
  return ((seconds & 0xffff_ffffn) << 32n) | fraction;
}

/** The middle 32 bits of an NTP timestamp: the LSR/DLSR unit of RFC 3550 §6.4.1. */
export function compactNtp(ntp: bigint): number {
  return Number((ntp >> 16n) & 0xffff_ffffn);
}

/**
 * Unix-epoch nanoseconds for a 64-bit NTP timestamp (the inverse of ntpFromUnixNs). NTP seconds
 * wrap in February 2036 (RFC 5905 §6, era 1): values with the top bit clear are read as era 1,
 * so this holds from 1968 to 2104.
 */
export function unixNsFromNtp(ntp: bigint): bigint {
  let ntpSeconds = ntp >> 32n;
  if (ntpSeconds < 0x8000_0000n) ntpSeconds += 0x1_0000_0000n;
  const seconds = ntpSeconds - NTP_UNIX_OFFSET_SECONDS;
  const fraction = ((ntp & 0xffff_ffffn) * NS_PER_SECOND) >> 32n;
  return seconds * NS_PER_SECOND + fraction;
}
