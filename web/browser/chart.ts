import type { Translator } from '@clutch/i18n';

/** A hand-drawn, scrolling time chart on a canvas: a few series, each on its own y-scale. */
export interface SeriesSpec {
  key: string;
  color: string;
  /** Which side the series' scale is drawn on. */
  axis: 'left' | 'right';
  /** The scale never shrinks below this, so idle values do not fill the chart with noise. */
  minCeiling: number;
}

interface Point {
  t: number;
  v: number;
}

const PAD = { top: 12, right: 48, bottom: 26, left: 52 };

/** Rounds up to 1, 2 or 5 times a power of ten: readable axis labels. */
export function niceCeiling(value: number): number {
  if (!(value > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) {
    if (value <= step * magnitude) return step * magnitude;
  }
  return 10 * magnitude;
}

export class LiveChart {
  private readonly data = new Map<string, Point[]>();
  private frame = 0;
  /** Read once: getComputedStyle on every frame would force a style recalculation per frame. */
  private readonly colors: { muted: string; line: string };

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly series: readonly SeriesSpec[],
    private readonly windowMs: number,
    private readonly i18n: Translator,
  ) {
    for (const s of series) this.data.set(s.key, []);
    const style = getComputedStyle(canvas);
    this.colors = {
      muted: style.getPropertyValue('--muted').trim() || '#64707f',
      line: style.getPropertyValue('--line').trim() || '#e1e6ed',
    };
    new ResizeObserver(() => this.schedule()).observe(canvas);
    // Scroll even when nothing arrives, so a silent vehicle visibly goes flat-lined to the left.
    setInterval(() => this.schedule(), 1000);
  }

  add(key: string, time: string, value: number): void {
    const points = this.data.get(key);
    const t = Date.parse(time);
    if (!points || !Number.isFinite(t) || !Number.isFinite(value)) return;
    // Live and fetched points can interleave; keep each series sorted without re-sorting it all.
    let i = points.length;
    while (i > 0 && points[i - 1]!.t > t) i--;
    if (points[i - 1]?.t === t) points[i - 1] = { t, v: value };
    else points.splice(i, 0, { t, v: value });
    this.schedule();
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  private draw(): void {
    const dpr = window.devicePixelRatio || 1;
    const width = this.canvas.clientWidth;
    const height = this.canvas.clientHeight;
    if (width === 0 || height === 0) return;
    if (this.canvas.width !== Math.round(width * dpr) || this.canvas.height !== Math.round(height * dpr)) {
      this.canvas.width = Math.round(width * dpr);
      this.canvas.height = Math.round(height * dpr);
    }
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);

    const now = Date.now();
    const start = now - this.windowMs;
    for (const points of this.data.values()) {
      // Keep one point left of the window so lines enter from the edge instead of starting mid-air.
      let drop = 0;
      while (drop + 1 < points.length && points[drop + 1]!.t < start) drop++;
      if (drop > 0) points.splice(0, drop);
    }

    const plotW = width - PAD.left - PAD.right;
    const plotH = height - PAD.top - PAD.bottom;
    const x = (t: number): number => PAD.left + ((t - start) / this.windowMs) * plotW;
    const { muted, line } = this.colors;
    ctx.font = '11px system-ui, sans-serif';
    ctx.lineWidth = 1;

    const ceilings = new Map<string, number>();
    for (const s of this.series) {
      const max = Math.max(0, ...(this.data.get(s.key) ?? []).map((p) => p.v));
      ceilings.set(s.key, niceCeiling(Math.max(s.minCeiling, max)));
    }

    const rows = 4;
    ctx.strokeStyle = line;
    ctx.fillStyle = muted;
    for (let r = 0; r <= rows; r++) {
      const y = PAD.top + (plotH * r) / rows;
      ctx.beginPath();
      ctx.moveTo(PAD.left, Math.round(y) + 0.5);
      ctx.lineTo(PAD.left + plotW, Math.round(y) + 0.5);
      ctx.stroke();
      for (const s of this.series) {
        const label = this.i18n.number(Math.round((ceilings.get(s.key)! * (rows - r)) / rows));
        ctx.fillStyle = s.color;
        ctx.textBaseline = 'middle';
        ctx.textAlign = s.axis === 'left' ? 'right' : 'left';
        ctx.fillText(label, s.axis === 'left' ? PAD.left - 6 : PAD.left + plotW + 6, y);
      }
    }

    ctx.fillStyle = muted;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (let s = 0; s <= this.windowMs / 1000; s += 30) {
      const t = now - s * 1000;
      ctx.fillText(
        s === 0 ? this.i18n.t('dashboard.chart.now') : this.i18n.t('dashboard.chart.secondsAgo', { seconds: s }),
        x(t),
        PAD.top + plotH + 8,
      );
    }

    ctx.save();
    ctx.beginPath();
    ctx.rect(PAD.left, PAD.top, plotW, plotH);
    ctx.clip();
    ctx.lineWidth = 2;
    ctx.lineJoin = 'round';
    for (const s of this.series) {
      const points = this.data.get(s.key) ?? [];
      const ceiling = ceilings.get(s.key)!;
      const y = (v: number): number => PAD.top + plotH - (Math.max(0, v) / ceiling) * plotH;
      ctx.strokeStyle = s.color;
      ctx.beginPath();
      points.forEach((p, i) => (i === 0 ? ctx.moveTo(x(p.t), y(p.v)) : ctx.lineTo(x(p.t), y(p.v))));
      ctx.stroke();
      const last = points.at(-1);
      if (last) {
        ctx.fillStyle = s.color;
        ctx.beginPath();
        ctx.arc(x(last.t), y(last.v), 3, 0, Math.PI * 2);
        ctx.fill();
      }
    }
    ctx.restore();
  }
}
