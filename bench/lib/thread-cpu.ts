/**
 * CPU time of the calling thread since it started, from /proc/thread-self/stat (Linux; null
 * elsewhere): a load generator in a worker thread reports its own, so that the process's CPU time
 * (process.cpuUsage: every thread) less the generator's is the server's — the gateway's main
 * thread, the libuv and native pools and V8's helpers.
 */
import { readFileSync } from 'node:fs';

/** Clock ticks a second of /proc's utime and stime (USER_HZ: 100 on Linux for every architecture). */
const USER_HZ = 100;

export function threadCpuMs(): number | null {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    // the command name (field 2) is in parentheses and may hold spaces: fields count from after it
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    return Number.isFinite(utime) && Number.isFinite(stime) ? ((utime + stime) * 1000) / USER_HZ : null;
  } catch {
    return null;
  }
}
