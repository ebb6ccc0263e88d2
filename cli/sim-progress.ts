import type { FleetStats } from '../devices-sim/index.js';

/**
 * Progress output of `anju sim`, on stderr so that stdout stays for logs and pipes. On a terminal
 * the line is redrawn every second in place; otherwise (a CI log, a file) a full line every 10 s,
 * so a long run does not flood the log.
 */

export interface ProgressStream {
  write(text: string): boolean;
  isTTY?: boolean;
}

export interface Ticker {
  /** Prints `line()` now (used for the last state before a summary). */
  flush(): void;
  stop(): void;
}

export function startTicker(stream: ProgressStream, line: () => string, intervals = { ttyMs: 1_000, plainMs: 10_000 }): Ticker {
  const tty = stream.isTTY === true;
  let drawn = false;
  const draw = () => {
    if (tty) {
      stream.write(`\r\x1b[K${line()}`);
      drawn = true;
    } else stream.write(`${line()}\n`);
  };
  const timer = setInterval(draw, tty ? intervals.ttyMs : intervals.plainMs);
  timer.unref();
  return {
    flush: draw,
    stop() {
      clearInterval(timer);
      if (tty && drawn) stream.write('\n');
    },
  };
}

export function fleetLine(s: FleetStats): string {
  return [
    `connected ${s.connected}/${s.devices}`, `published ${s.published}`, `acked ${s.acked}`, `errors ${s.errors}`,
    ...(s.closedBeforeConnack > 0 ? [`closed before CONNACK ${s.closedBeforeConnack}`] : []),
    ...(s.suppressed > 0 ? [`suppressed ${s.suppressed}`] : []), ...(s.skipped > 0 ? [`skipped ${s.skipped}`] : []),
    `${s.rate.toFixed(1)} msg/s`,
  ].join('  ');
}

/** `[#####-----]  42.0 %  12,345 readings/s  ETA 1m05s` for a job of `total` units. */
export function barLine(done: number, total: number, startedAt: number, now: number, unit = 'readings'): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 1;
  const width = 24;
  const filled = Math.round(fraction * width);
  const elapsedS = Math.max(0.001, (now - startedAt) / 1000);
  const rate = done / elapsedS;
  const eta = rate > 0 && done < total ? (total - done) / rate : 0;
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(fraction * 100).toFixed(1).padStart(5)} %  ${Math.round(rate).toLocaleString('en-US')} ${unit}/s  ETA ${duration(eta)}`;
}

export function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** Peak resident set size of this process so far, MiB (the kernel's high-water mark, not a sample). */
export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}
