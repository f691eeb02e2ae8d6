/**
 * What each lead's trace is made of in a view, from what data.js has read.
 *
 * Up to SIGNAL_SAMPLES_PER_PX samples a CSS px (paper speed is 3.8 at 360 Hz, 5.3 at
 * 500 Hz), every sample (from /signal): the polyline through them is the ECG as paper
 * shows it, and the blocks read stay good while the view moves. Further out, each pixel
 * column's smallest and largest value (from /overview, buckets of a power of two of
 * samples, at most a column's): the bar between them is what the polyline through all
 * those samples would cover, from a hundredth of the data or less. Either way, what lies
 * half a view on either side is asked for too, after what is in view.
 */

import { OVERVIEW_TILE, SIGNAL_BLOCK } from "./data.js";

export const SIGNAL_SAMPLES_PER_PX = 8;

/** {complete, source: "signal" | "overview", leads}: `complete` is false while a block
 * or tile in view is still being read. */
export function leadTraces(g, view, recording) {
  return view.spp <= SIGNAL_SAMPLES_PER_PX
    ? { source: "signal", ...signalTraces(g, view, recording) }
    : { source: "overview", ...overviewTraces(g, view, recording) };
}

/** Every sample in view and one beyond each edge, per lead: {samples, values}. */
function signalTraces(g, view, recording) {
  const length = recording.length;
  const first = Math.max(0, Math.floor(view.start) - 1);
  const last = Math.min(length, Math.ceil(view.start + view.spp * g.plotWidth) + 2);
  const leads = recording.leads.map(() => ({ samples: [], values: [] }));
  let complete = true;
  for (let b = Math.floor(first / SIGNAL_BLOCK); b * SIGNAL_BLOCK < last; b += 1) {
    const block = recording.block(b);
    if (block === null) {
      complete = false;
      continue;
    }
    block.leads.forEach((signal, i) => {
      const to = Math.min(last, block.start + signal.length);
      for (let s = Math.max(first, block.start); s < to; s += 1) {
        leads[i].samples.push(s);
        leads[i].values.push(signal[s - block.start]);
      }
    });
  }
  around(view, g, length, (start, end) => {
    for (let b = Math.floor(start / SIGNAL_BLOCK); b * SIGNAL_BLOCK < end; b += 1) {
      recording.block(b);
    }
  });
  return { complete, leads };
}

/** Each pixel column's smallest and largest value per lead: {low, high}, NaN for none. */
function overviewTraces(g, view, recording) {
  const columns = Math.ceil(g.plotWidth);
  // a power of two, at most one column's samples: every bucket lies in one or two columns
  const bucket = 2 ** Math.floor(Math.log2(view.spp));
  const buckets = Math.ceil(recording.length / bucket);
  const leads = recording.leads.map(() => ({
    low: new Float64Array(columns).fill(NaN),
    high: new Float64Array(columns).fill(NaN),
  }));
  let complete = true;
  for (let c = 0; c < columns; c += 1) {
    const s0 = view.start + c * view.spp;
    const k1 = Math.min(buckets, Math.ceil((s0 + view.spp) / bucket));
    for (let k = Math.max(0, Math.floor(s0 / bucket)); k < k1; k += 1) {
      const tile = recording.tile(bucket, Math.floor(k / OVERVIEW_TILE));
      if (tile === null) {
        complete = false;
        continue;
      }
      const at = k % OVERVIEW_TILE;
      tile.leads.forEach((extremes, i) => {
        const low = extremes.min[at];
        if (!Number.isNaN(low)) {
          const lead = leads[i];
          lead.low[c] = Number.isNaN(lead.low[c]) ? low : Math.min(lead.low[c], low);
          lead.high[c] = Number.isNaN(lead.high[c])
            ? extremes.max[at]
            : Math.max(lead.high[c], extremes.max[at]);
        }
      });
    }
  }
  const tileSamples = bucket * OVERVIEW_TILE;
  around(view, g, recording.length, (start, end) => {
    for (let t = Math.floor(start / tileSamples); t * tileSamples < end; t += 1) {
      recording.tile(bucket, t);
    }
  });
  return { complete, leads };
}

/** Calls `ask(start, end)` for the half views on either side of the view (read ahead,
 * after what is in view), within the recording. */
function around(view, g, length, ask) {
  const span = view.spp * g.plotWidth;
  ask(Math.max(0, view.start - span / 2), view.start);
  ask(Math.min(length, view.start + span), Math.min(length, view.start + span * 1.5));
}
