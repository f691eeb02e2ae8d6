/**
 * The navigator under the paper: the heart rate of every window across the whole
 * recording, each window's quality verdicts as a band of colour (a row per lead up to
 * four leads, else one row with each window's worst), and the part in view. A click
 * there moves the view (viewer.js).
 */

import { COLOURS, GUTTER_PX, clock, labelStep, verdictClass } from "./paper.js";

const TOP = 16;
const BOTTOM = 76;
const ROW = 8;
const GAP = 4;
const AXIS = 18;
const SEVERITY = { good: 0, unassessed: 1, fair: 2, poor: 3 };

/** Where everything is on the trend canvas, in CSS px. */
export function trendLayout(width, leadCount) {
  const rows = leadCount <= 4 ? leadCount : 1;
  const qualityTop = BOTTOM + GAP;
  const qualityBottom = qualityTop + rows * ROW;
  return {
    width,
    left: GUTTER_PX,
    plotWidth: Math.max(1, width - GUTTER_PX),
    top: TOP,
    bottom: BOTTOM,
    rows,
    qualityTop,
    qualityBottom,
    height: qualityBottom + AXIS,
  };
}

/** The sample at `x` (CSS px on the trend canvas). */
export function trendSample(g, x, length) {
  return ((x - g.left) / g.plotWidth) * length;
}

function worst(verdicts) {
  let found = "unassessed";
  for (const verdict of Object.values(verdicts)) {
    const kind = verdictClass(verdict);
    if (SEVERITY[kind] > SEVERITY[found]) found = kind;
  }
  return found;
}

/** Draws the whole recording's trend, `view` covering `viewSamples` samples. */
export function drawTrend(ctx, g, view, viewSamples, recording, dpr) {
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, g.width, g.height);
  const length = Math.max(1, recording.length);
  const x = (sample) => g.left + (sample / length) * g.plotWidth;
  drawRates(ctx, g, recording.windows, x);
  drawQuality(ctx, g, recording, x);

  const v0 = x(view.start);
  const v1 = Math.max(v0 + 2, x(view.start + viewSamples));
  ctx.fillStyle = "rgba(31, 79, 209, 0.12)";
  ctx.fillRect(v0, g.top - 4, v1 - v0, g.qualityBottom - g.top + 4);
  ctx.strokeStyle = COLOURS.beat;
  ctx.lineWidth = 1;
  ctx.strokeRect(v0 + 0.5, g.top - 3.5, v1 - v0 - 1, g.qualityBottom - g.top + 3);

  const rate = recording.rate;
  const seconds = length / (rate ?? 1);
  const step = labelStep((seconds * 110) / g.plotWidth, rate);
  ctx.fillStyle = COLOURS.text;
  ctx.textBaseline = "top";
  ctx.textAlign = "center";
  ctx.font = "11px system-ui, sans-serif";
  for (let k = 0; k * step <= seconds; k += 1) {
    const at = x(k * step * (rate ?? 1));
    ctx.fillRect(Math.round(at), g.qualityBottom, 1, 3);
    const label = rate ? clock(k * step) : String(k * step);
    ctx.fillText(label, Math.min(Math.max(at, g.left + 24), g.width - 24), g.qualityBottom + 4);
  }
  ctx.textAlign = "start";
}

function drawRates(ctx, g, windows, x) {
  let slowest = Infinity;
  let fastest = -Infinity;
  for (const window of windows) {
    if (window.heartRate !== null) {
      slowest = Math.min(slowest, window.heartRate);
      fastest = Math.max(fastest, window.heartRate);
    }
  }
  const known = Number.isFinite(slowest);
  const low = known ? Math.max(0, Math.floor((slowest - 5) / 10) * 10) : 40;
  const high = known ? Math.ceil((fastest + 5) / 10) * 10 : 120;
  const y = (rate) => g.bottom - ((rate - low) / Math.max(1, high - low)) * (g.bottom - g.top);

  ctx.font = "11px system-ui, sans-serif";
  ctx.textBaseline = "middle";
  const step = labelStep((high - low) / 3, null);
  for (let rate = Math.ceil(low / step) * step; rate <= high; rate += step) {
    ctx.fillStyle = COLOURS.faint;
    ctx.fillRect(g.left, Math.round(y(rate)), g.plotWidth, 1);
    ctx.fillStyle = COLOURS.text;
    ctx.fillText(String(rate), 3, y(rate));
  }
  ctx.textBaseline = "top";
  ctx.fillText("bpm", 3, 0);

  ctx.strokeStyle = COLOURS.trend;
  ctx.fillStyle = COLOURS.trend;
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  const dots = windows.length <= g.plotWidth / 8;
  let before = null; // the window before, when it had a rate
  for (const window of windows) {
    const rate = window.heartRate;
    if (rate === null) {
      before = null;
      continue;
    }
    const at = x((window.start + window.end) / 2);
    if (before !== null && before.index === window.index - 1) {
      ctx.lineTo(at, y(rate));
    } else {
      ctx.moveTo(at, y(rate));
    }
    if (dots) ctx.fillRect(at - 1.5, y(rate) - 1.5, 3, 3);
    before = window;
  }
  ctx.stroke();
}

function drawQuality(ctx, g, recording, x) {
  const perLead = g.rows === recording.leads.length;
  for (const window of recording.windows) {
    const x0 = x(window.start);
    const width = Math.max(1, x(window.end) - x0);
    const kinds = perLead
      ? recording.leads.map((lead) => verdictClass(window.verdicts[lead.name]))
      : [worst(window.verdicts)];
    kinds.forEach((kind, row) => {
      ctx.fillStyle = COLOURS[kind];
      ctx.fillRect(x0, g.qualityTop + row * ROW, width, ROW - 1);
    });
  }
  ctx.fillStyle = COLOURS.text;
  ctx.textBaseline = "middle";
  ctx.font = "8px system-ui, sans-serif";
  const names = perLead ? recording.leads.map((lead) => lead.name) : ["worst"];
  names.forEach((name, row) => ctx.fillText(name, 3, g.qualityTop + row * ROW + ROW / 2));
}
