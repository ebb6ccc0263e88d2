import { z } from 'zod';

/**
 * Times and durations in query strings. DESIGN §3: times are epoch ms or ISO 8601 in; durations
 * use InfluxQL's literals (`30s`, `5m`, `1h`, `1d`, `1w`), so a Grafana panel's `$__interval` can be
 * passed through, or plain milliseconds.
 */

const epochMs = /^\d{1,15}$/;
// RFC 3339 date-time with a zone (`Z` or ±hh:mm), or a bare date taken as UTC midnight. A local
// time without a zone is refused: it would mean a different instant on every server.
const isoDateTime = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/i;

export function parseInstant(text: string): number | undefined {
  if (epochMs.test(text)) return Number(text);
  if (!isoDateTime.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : undefined;
}

const unitMs: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const durationLiteral = /^(\d{1,9})(ms|s|m|h|d|w)?$/;

export function parseDuration(text: string): number | undefined {
  const m = durationLiteral.exec(text);
  if (!m?.[1]) return undefined;
  const ms = Number(m[1]) * (unitMs[m[2] ?? 'ms'] ?? 1);
  return ms > 0 ? ms : undefined;
}

export const instantQuery = z
  .string()
  .describe('epoch milliseconds or ISO 8601 with a zone, e.g. 1735689600000 or 2025-01-01T00:00:00Z')
  .transform((s, ctx) => {
    const ms = parseInstant(s);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: 'expected epoch milliseconds or ISO 8601 with a zone (2025-01-01T08:00:00+08:00)' });
      return z.NEVER;
    }
    return ms;
  });

export const durationQuery = z
  .string()
  .describe('bucket width: InfluxQL duration (30s, 5m, 1h, 1d, 1w) or milliseconds')
  .transform((s, ctx) => {
    const ms = parseDuration(s);
    if (ms === undefined || ms < 1_000) {
      ctx.addIssue({ code: 'custom', message: 'expected a duration of at least 1s: 30s, 5m, 1h, 1d, 1w or milliseconds' });
      return z.NEVER;
    }
    return ms;
  });
