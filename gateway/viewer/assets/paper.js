/**
 * The leads on ECG paper, the beats marked above them and each window's quality under
 * each lead.
 *
 * The scale is the CSS millimetre: 96 CSS px to the inch, so 1 mm = 3.78 CSS px (what a
 * browser prints at 100 %; a screen's own pixels per mm vary, so the page states its
 * scale). The grid is paper's: a line every mm, a heavier one every 5 mm, fixed to the
 * millimetres at every zoom and moving with the trace. Amplitude is always 10 mm/mV,
 * values in mV being (ADC - baseline) / gain (baseline 0 when the ECG gives none); a
 * lead without a gain is fitted to its strip and says so. Time is 25 mm/s at paper
 * speed; zoomed out, the paper stays and the speed drops (the page shows it).
 *
 * Grid lines are snapped to device pixels, so that they are crisp and keep their
 * colour. A trace (traces.js) is the polyline through every sample, or each pixel
 * column's bar from its smallest to its largest value, joined to its neighbours.
 */

import { lowerBound } from "./data.js";
import { leadTraces } from "./traces.js";

export const PX_PER_MM = 96 / 25.4;
export const PAPER_SPEED = 25; // mm/s
export const MM_PER_MV = 10;
export const NO_RATE_SAMPLES_PER_MM = 10; // the time scale of an ECG without a rate

export const COLOURS = {
  paper: "#fff8f5",
  minor: "#f4caca",
  major: "#e08c8c",
  trace: "#101010",
  beat: "#1f4fd1",
  good: "#2f9e58",
  fair: "#e0a30b",
  poor: "#cf2e2e",
  unassessed: "#a3a3a3",
  text: "#333333",
  faint: "#d9d9d9",
  trend: "#8a1c1c",
};

export const GUTTER_PX = Math.round(12 * PX_PER_MM);
const BEAT_BAND_MM = 5;
const AXIS_PX = 20;
const QUALITY_PX = 3;
const BEAT_SPACING_PX = 6; // beats closer than this on average are counted, not marked
const TIME_STEPS = [
  0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
];

/** Where everything is on the paper canvas, in CSS px. */
export function layout(width, leadCount) {
  const stripMm = leadCount <= 3 ? 30 : 20;
  const beatBottom = BEAT_BAND_MM * PX_PER_MM;
  const strips = Array.from({ length: leadCount }, (_, i) => ({
    top: beatBottom + i * stripMm * PX_PER_MM,
    bottom: beatBottom + (i + 1) * stripMm * PX_PER_MM,
  }));
  const paperBottom = strips.at(-1)?.bottom ?? beatBottom;
  return {
    width,
    left: GUTTER_PX,
    plotWidth: Math.max(1, width - GUTTER_PX),
    beatTop: 0,
    beatBottom,
    strips,
    paperMm: BEAT_BAND_MM + leadCount * stripMm,
    paperBottom,
    height: Math.ceil(paperBottom + AXIS_PX),
  };
}

/** good, fair (noisy, baseline wander), poor (flat line, saturated) or unassessed. */
export function verdictClass(verdict) {
  if (verdict === "good") return "good";
  if (verdict === "noisy" || verdict === "baseline_wander") return "fair";
  if (verdict === "flat_line" || verdict === "saturated") return "poor";
  return "unassessed";
}

/** "h:mm:ss", with tenths when `precise`. */
export function clock(seconds, precise = false) {
  const total = Math.abs(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const sText = precise ? s.toFixed(1).padStart(4, "0") : String(Math.floor(s)).padStart(2, "0");
  return `${seconds < 0 ? "-" : ""}${h}:${String(m).padStart(2, "0")}:${sText}`;
}

/** The time between labels: the first of the steps at least `minimum` seconds apart
 * (sample numbers without a rate: 1, 2 or 5 times a power of ten). */
export function labelStep(minimum, rate) {
  if (rate) {
    return TIME_STEPS.find((step) => step >= minimum) ?? 86400 * Math.ceil(minimum / 86400);
  }
  const power = 10 ** Math.floor(Math.log10(Math.max(minimum, 1)));
  return [1, 2, 5, 10].map((m) => m * power).find((step) => step >= minimum);
}

/**
 * Draws `view` ({start, spp}: the sample at the plot's left edge, samples per CSS px)
 * and answers what it drew: {complete, source, beatsInView, beatSamples, beatX}, where
 * `complete` is false while a block or tile is still being read.
 */
export function drawPaper(ctx, g, view, recording, dpr) {
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, g.width, g.height);
  drawGrid(ctx, g, view, dpr);
  drawQuality(ctx, g, view, recording);
  const traces = leadTraces(g, view, recording);
  ctx.save();
  ctx.beginPath();
  ctx.rect(g.left, g.beatBottom, g.plotWidth, g.paperBottom - g.beatBottom);
  ctx.clip();
  recording.leads.forEach((lead, i) => {
    drawTrace(ctx, g, view, g.strips[i], lead, traces.leads[i]);
  });
  ctx.restore();
  const beats = drawBeats(ctx, g, view, recording.beats);
  drawGutter(ctx, g, recording.leads);
  drawTimeAxis(ctx, g, view, recording.rate);
  return { complete: traces.complete, source: traces.source, ...beats };
}

function drawGrid(ctx, g, view, dpr) {
  ctx.fillStyle = COLOURS.paper;
  ctx.fillRect(g.left, 0, g.plotWidth, g.paperBottom);
  const snap = (value) => Math.round(value * dpr) / dpr;
  const right = g.left + g.plotWidth;
  const offset = view.start / view.spp; // px of paper before the plot's left edge
  const first = Math.ceil(offset / PX_PER_MM);
  const last = Math.floor((offset + g.plotWidth) / PX_PER_MM);
  for (const major of [false, true]) {
    ctx.fillStyle = major ? COLOURS.major : COLOURS.minor;
    const width = (major ? 2 : 1) / dpr;
    for (let mm = first; mm <= last; mm += 1) {
      if ((mm % 5 === 0) === major) {
        const x = snap(g.left + mm * PX_PER_MM - offset);
        if (x >= g.left && x < right) ctx.fillRect(x, 0, width, g.paperBottom);
      }
    }
    for (let mm = 0; mm <= g.paperMm; mm += 1) {
      if ((mm % 5 === 0) === major) {
        const y = Math.min(snap(mm * PX_PER_MM), g.paperBottom - width);
        ctx.fillRect(g.left, y, g.plotWidth, width);
      }
    }
  }
}

function drawQuality(ctx, g, view, recording) {
  const end = view.start + view.spp * g.plotWidth;
  const x = (sample) => g.left + (sample - view.start) / view.spp;
  const windows = recording.windows;
  let i = lowerBound(
    windows.map((window) => window.end),
    view.start + 1,
  );
  for (; i < windows.length && windows[i].start < end; i += 1) {
    const window = windows[i];
    const x0 = Math.max(g.left, x(window.start));
    const x1 = Math.min(g.left + g.plotWidth, x(window.end));
    recording.leads.forEach((lead, row) => {
      ctx.fillStyle = COLOURS[verdictClass(window.verdicts[lead.name])];
      ctx.fillRect(x0, g.strips[row].bottom - QUALITY_PX - 1, x1 - x0, QUALITY_PX);
    });
  }
}

/** A lead's ADC value to y: 10 mm/mV about the strip's middle, or fitted to the strip. */
function amplitude(strip, lead, trace) {
  const middle = (strip.top + strip.bottom) / 2;
  if (lead.gain) {
    const baseline = lead.baseline ?? 0;
    const pxPerUnit = (MM_PER_MV * PX_PER_MM) / lead.gain;
    return (value) => middle - (value - baseline) * pxPerUnit;
  }
  let low = Infinity;
  let high = -Infinity;
  for (const values of trace.values ? [trace.values] : [trace.low, trace.high]) {
    for (const value of values) {
      if (!Number.isNaN(value)) {
        low = Math.min(low, value);
        high = Math.max(high, value);
      }
    }
  }
  const pxPerUnit = (0.8 * (strip.bottom - strip.top)) / Math.max(1, high - low);
  const centre = Number.isFinite(low) ? (low + high) / 2 : 0;
  return (value) => middle - (value - centre) * pxPerUnit;
}

function drawTrace(ctx, g, view, strip, lead, trace) {
  const y = amplitude(strip, lead, trace);
  ctx.fillStyle = COLOURS.trace;
  ctx.strokeStyle = COLOURS.trace;
  if (trace.samples) {
    ctx.lineWidth = 1.25;
    ctx.lineJoin = "round";
    ctx.beginPath();
    trace.samples.forEach((sample, k) => {
      const x = g.left + (sample - view.start) / view.spp;
      // a hole in the stored samples is not bridged
      if (k === 0 || sample !== trace.samples[k - 1] + 1) {
        ctx.moveTo(x, y(trace.values[k]));
      } else {
        ctx.lineTo(x, y(trace.values[k]));
      }
    });
    ctx.stroke();
    return;
  }
  let before = null; // the column before: [low, high]
  for (let c = 0; c < trace.low.length; c += 1) {
    const low = trace.low[c];
    const high = trace.high[c];
    if (Number.isNaN(low)) {
      before = null;
      continue;
    }
    // reaching the column before, as the line through the samples would
    const top = y(before === null ? high : Math.max(high, before[0]));
    const bottom = y(before === null ? low : Math.min(low, before[1]));
    ctx.fillRect(g.left + c, top - 0.6, 1, Math.max(1.25, bottom - top + 1.2));
    before = [low, high];
  }
}

/** Marks each beat in view in the band above the leads, when they are not too dense;
 * answers how many are in view, and which were marked where. */
function drawBeats(ctx, g, view, beats) {
  const from = lowerBound(beats, view.start);
  const to = lowerBound(beats, view.start + view.spp * g.plotWidth);
  const beatSamples = [];
  const beatX = [];
  if (to - from <= g.plotWidth / BEAT_SPACING_PX) {
    const top = g.beatTop + PX_PER_MM;
    const apex = g.beatBottom - 0.8 * PX_PER_MM;
    ctx.fillStyle = COLOURS.beat;
    for (let i = from; i < to; i += 1) {
      const x = g.left + (beats[i] - view.start) / view.spp;
      ctx.beginPath();
      ctx.moveTo(x - PX_PER_MM, top);
      ctx.lineTo(x + PX_PER_MM, top);
      ctx.lineTo(x, apex);
      ctx.closePath();
      ctx.fill();
      beatSamples.push(beats[i]);
      beatX.push(Math.round(x * 100) / 100);
    }
  }
  return { beatsInView: to - from, beatSamples, beatX };
}

/** Each lead's name and, with a gain, its calibration pulse: 1 mV (10 mm) for 5 mm. */
function drawGutter(ctx, g, leads) {
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, g.left, g.height);
  ctx.textBaseline = "top";
  const mm = PX_PER_MM;
  leads.forEach((lead, i) => {
    const strip = g.strips[i];
    ctx.fillStyle = COLOURS.text;
    ctx.font = "600 12px system-ui, sans-serif";
    ctx.fillText(lead.name, 3, strip.top + 3);
    if (!lead.gain) {
      ctx.font = "11px system-ui, sans-serif";
      ctx.fillText("fitted", 3, strip.top + 18);
      return;
    }
    const middle = (strip.top + strip.bottom) / 2;
    ctx.strokeStyle = COLOURS.trace;
    ctx.lineWidth = 1.25;
    ctx.beginPath();
    ctx.moveTo(6, middle);
    ctx.lineTo(6 + mm, middle);
    ctx.lineTo(6 + mm, middle - MM_PER_MV * mm);
    ctx.lineTo(6 + 6 * mm, middle - MM_PER_MV * mm);
    ctx.lineTo(6 + 6 * mm, middle);
    ctx.lineTo(6 + 7 * mm, middle);
    ctx.stroke();
  });
}

function drawTimeAxis(ctx, g, view, rate) {
  const unit = rate ?? 1; // without a rate: sample numbers
  const start = view.start / unit;
  const span = (view.spp * g.plotWidth) / unit;
  const step = labelStep((90 * span) / g.plotWidth, rate);
  ctx.fillStyle = COLOURS.text;
  ctx.font = "11px system-ui, sans-serif";
  ctx.textBaseline = "top";
  ctx.textAlign = "center";
  for (let k = Math.ceil(start / step); k * step <= start + span; k += 1) {
    const t = k * step;
    const x = g.left + ((t - start) * unit) / view.spp;
    ctx.fillRect(Math.round(x), g.paperBottom, 1, 4);
    const label = rate ? clock(t, step < 1) : String(t);
    ctx.fillText(label, Math.min(Math.max(x, g.left + 24), g.width - 24), g.paperBottom + 5);
  }
  ctx.textAlign = "start";
}
