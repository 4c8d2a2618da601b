/**
 * Peak resident set of this process, MiB: VmHWM of /proc/self/status where there is one (Linux),
 * else `process.resourceUsage().maxRSS`. Not maxRSS alone: Linux carries a parent's peak into a
 * child across fork and exec, so a bench child spawned by a bigger process would report at least
 * its parent's peak; VmHWM belongs to the address space the child's exec made.
 */
import { readFileSync } from 'node:fs';

export function peakRssMiB(): number {
  try {
    const m = /^VmHWM:\s*(\d+)\s*kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // no procfs: the rusage figure
  }
  return process.resourceUsage().maxRSS / 1024;
}
