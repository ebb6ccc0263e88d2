/**
 * Small statistics the baselines need: Student's t quantiles (for savings uncertainty) and
 * least squares. No dependency: the regularized incomplete beta by Lentz's continued fraction
 * (Numerical Recipes, 3rd ed., §6.4), the quantile by bisection.
 */

function lnGamma(x: number): number {
  // Lanczos approximation (g = 7, n = 9).
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  x -= 1;
  let a = c[0] as number;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += (c[i] as number) / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

function betaCf(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d; if (Math.abs(d) < tiny) d = tiny; c = 1 + aa / c; if (Math.abs(c) < tiny) c = tiny; d = 1 / d; h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d; if (Math.abs(d) < tiny) d = tiny; c = 1 + aa / c; if (Math.abs(c) < tiny) c = tiny; d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-12) break;
  }
  return h;
}

function incBeta(a: number, b: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const bt = Math.exp(lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (bt * betaCf(a, b, x)) / a : 1 - (bt * betaCf(b, a, 1 - x)) / b;
}

/** CDF of Student's t with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  const x = df / (df + t * t);
  const tail = 0.5 * incBeta(df / 2, 0.5, x);
  return t >= 0 ? 1 - tail : tail;
}

/** Two-sided critical value: P(|T| ≤ t) = confidence. */
export function tCritical(confidence: number, df: number): number {
  const target = 0.5 + confidence / 2;
  let lo = 0;
  let hi = 1000;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, Math.max(df, 1)) < target) lo = mid; else hi = mid;
  }
  return (lo + hi) / 2;
}

export const mean = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;

/** Ordinary least squares y = Xβ by normal equations (Gauss-Jordan; X has ≤ 3 columns here). */
export function ols(x: readonly (readonly number[])[], y: readonly number[]): number[] | undefined {
  const k = x[0]?.length ?? 0;
  const a = Array.from({ length: k }, () => new Array<number>(k + 1).fill(0));
  for (let i = 0; i < y.length; i++) {
    const row = x[i] as readonly number[];
    for (let r = 0; r < k; r++) {
      for (let c = 0; c < k; c++) (a[r] as number[])[c] = ((a[r] as number[])[c] as number) + (row[r] as number) * (row[c] as number);
      (a[r] as number[])[k] = ((a[r] as number[])[k] as number) + (row[r] as number) * (y[i] as number);
    }
  }
  for (let col = 0; col < k; col++) {
    let piv = col;
    for (let r = col + 1; r < k; r++) if (Math.abs((a[r] as number[])[col] as number) > Math.abs((a[piv] as number[])[col] as number)) piv = r;
    if (Math.abs((a[piv] as number[])[col] as number) < 1e-12) return undefined;
    [a[col], a[piv]] = [a[piv] as number[], a[col] as number[]];
    const p = a[col] as number[];
    const pv = p[col] as number;
    for (let c = col; c <= k; c++) p[c] = (p[c] as number) / pv;
    for (let r = 0; r < k; r++) {
      if (r === col) continue;
      const row = a[r] as number[];
      const f = row[col] as number;
      for (let c = col; c <= k; c++) row[c] = (row[c] as number) - f * (p[c] as number);
    }
  }
  return a.map((row) => row[k] as number);
}
