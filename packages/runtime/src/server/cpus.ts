/**
 * How many CPUs this process may really use. `os.availableParallelism()` counts the cores the kernel
 * lets it run on, but a container's CPU limit is a CFS quota on top of that: a pod limited to 1 CPU on a
 * 16-core node sees 16 cores and gets one core's worth of time. A pool sized by core count would run 16
 * threads that the kernel throttles in turn, each call slower and none faster.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** cgroup v2 `cpu.max`: `"<quota> <period>"` or `"max <period>"`; the quota in CPUs, undefined when unlimited. */
export function quotaFromCpuMax(text: string): number | undefined {
  const [quota, period] = text.trim().split(/\s+/);
  return quotaOf(quota, period);
}

/** cgroup v1: `cpu.cfs_quota_us` (-1 when unlimited) and `cpu.cfs_period_us`. */
export function quotaFromCfs(quotaText: string, periodText: string): number | undefined {
  return quotaOf(quotaText.trim(), periodText.trim());
}

function quotaOf(quota: string | undefined, period: string | undefined): number | undefined {
  const q = Number(quota);
  const p = Number(period);
  if (!(q > 0) || !(p > 0)) return undefined;
  return q / p;
}

/**
 * Whole CPUs for a worker pool: the quota rounded up (a 1.5-CPU limit still has work for a second
 * thread), never more than the cores available, at least 1.
 */
export function cpusFor(quota: number | undefined, cores: number): number {
  const limit = quota === undefined ? cores : Math.min(cores, Math.ceil(quota - 1e-9));
  return Math.max(1, limit);
}

function readQuota(root: string): number | undefined {
  const read = (path: string) => {
    try {
      return readFileSync(`${root}/${path}`, 'utf8');
    } catch {
      return undefined;
    }
  };
  const v2 = read('cpu.max');
  if (v2 !== undefined) return quotaFromCpuMax(v2);
  const quota = read('cpu/cpu.cfs_quota_us') ?? read('cpu,cpuacct/cpu.cfs_quota_us');
  const period = read('cpu/cpu.cfs_period_us') ?? read('cpu,cpuacct/cpu.cfs_period_us');
  return quota !== undefined && period !== undefined ? quotaFromCfs(quota, period) : undefined;
}

/** The CPUs this process may use: its cgroup's CPU quota when one is set, else the available cores. */
export function usableCpus(cgroupRoot = '/sys/fs/cgroup'): number {
  return cpusFor(readQuota(cgroupRoot), availableParallelism());
}
