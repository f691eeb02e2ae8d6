/**
 * What the viewer reads about one ECG, and what it keeps of it.
 *
 * Read once (and again every few seconds while the ECG is still receiving or
 * processing): the lookup (rate, leads with gain and baseline, status), every beat
 * (GET /beats: one array of sample indices, ~100,000 for a day) and every window's
 * heart rate and per-lead quality verdict (GET /windows, 200 a page, following `next`).
 *
 * Read as the view moves, only what it shows: the samples themselves near paper speed,
 * from /signal in blocks of SIGNAL_BLOCK samples of every lead (at most 25 x 8,192 =
 * 204,800 values, a tenth of the endpoint's bound); further out, each lead's min and
 * max per bucket from /overview, in tiles of OVERVIEW_TILE buckets of a power-of-two
 * number of samples. Blocks and tiles are aligned on fixed boundaries, so that moving
 * the view asks again only for what comes into it, and zooming reuses a level's tiles;
 * the newest ones are kept (least recently used out). At most PARALLEL reads run at
 * once; a read still queued when the view has moved on is dropped.
 */

export const SIGNAL_BLOCK = 8192;
export const OVERVIEW_TILE = 1024;
const PARALLEL = 4;
const BLOCKS_KEPT = 96;
const TILES_KEPT = 96;
const WINDOW_PAGE = 200;
const RETRY_MS = 3000;

/** Runs at most `slots` tasks at a time, in the order given. */
class Limiter {
  #free;
  #waiting = [];

  constructor(slots) {
    this.#free = slots;
  }

  async run(task) {
    if (this.#free > 0) {
      this.#free -= 1;
    } else {
      await new Promise((resolve) => this.#waiting.push(resolve));
    }
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) {
        next(); // the slot passes on
      } else {
        this.#free += 1;
      }
    }
  }
}

/** A map that forgets its least recently used entry past `limit`. */
class Recent {
  #limit;
  #entries = new Map();

  constructor(limit) {
    this.#limit = limit;
  }

  get(key) {
    const value = this.#entries.get(key);
    if (value !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, value);
    }
    return value;
  }

  set(key, value) {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    if (this.#entries.size > this.#limit) {
      this.#entries.delete(this.#entries.keys().next().value);
    }
  }

  clear() {
    this.#entries.clear();
  }
}

/** The first index of ascending `values` whose value is at least `x`. */
export function lowerBound(values, x) {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (values[middle] < x) {
      low = middle + 1;
    } else {
      high = middle;
    }
  }
  return low;
}

function windowFacts(window) {
  const verdicts = {};
  for (const lead of window.leads) {
    verdicts[lead.name] = lead.quality?.verdict ?? "unassessed";
  }
  return {
    index: window.index,
    start: window.start_sample,
    end: window.end_sample,
    heartRate: window.heart_rate_bpm?.value ?? null,
    verdicts,
  };
}

function numbers(values) {
  return Float64Array.from(values, (value) => (value === null ? NaN : value));
}

export class Recording {
  #session;
  #changed;
  #blocks = new Recent(BLOCKS_KEPT);
  #tiles = new Recent(TILES_KEPT);
  #pending = new Set();
  #failed = new Map(); // key -> when its read failed
  #wanted = new Set();
  #limiter = new Limiter(PARALLEL);
  #epoch = 0;

  /** `changed()` is called whenever something new has arrived; `failed(error)` when a
   * read in the background fails. */
  constructor(session, id, changed, failed) {
    this.#session = session;
    this.#changed = changed;
    this.failed = failed;
    this.id = id;
    this.meta = null;
    this.beats = new Float64Array(0);
    this.windows = [];
    this.windowsComplete = false;
    this.beatsLoaded = false;
    this.requests = { ecg: 0, beats: 0, windows: 0, signal: 0, overview: 0 };
  }

  get base() {
    return `/api/v1/ecg/${this.id}`;
  }

  get leads() {
    return this.meta.leads;
  }

  get rate() {
    return this.meta.sampling_rate;
  }

  /** Samples of the longest lead. */
  get length() {
    return Math.max(0, ...this.meta.leads.map((lead) => lead.number_of_samples));
  }

  /** Whether the ECG can still change (a stream is open, or the analysis runs). */
  get settling() {
    return this.meta.status === "receiving" || this.meta.status === "processing";
  }

  async load() {
    this.meta = await this.#json("ecg", this.base);
    this.#changed();
    await Promise.all([this.#loadBeats(), this.#loadWindows(-1)]);
  }

  /** Reads the lookup again; when the ECG has grown, its beats, its new windows and
   * (the cached samples being short at its end) the samples again. */
  async refresh() {
    const before = this.meta;
    this.meta = await this.#json("ecg", this.base);
    const grown =
      this.meta.status !== before.status ||
      this.meta.windows.count !== before.windows.count ||
      this.length !== Math.max(0, ...before.leads.map((lead) => lead.number_of_samples));
    if (grown) {
      this.#epoch += 1;
      this.#blocks.clear();
      this.#tiles.clear();
      const last = this.windows.at(-1)?.index ?? -1;
      await Promise.all([this.#loadBeats(), this.#loadWindows(last)]);
    }
  }

  /** Starts a new frame: reads asked for before it and not again are no longer wanted. */
  frame() {
    this.#wanted.clear();
  }

  /** Block `index` of the samples (`{start, leads: [Int32Array]}`), or null while it is
   * read. */
  block(index) {
    return this.#cached(`s${index}`, this.#blocks, () => this.#readBlock(index));
  }

  /** Tile `index` of the buckets of `bucketSamples` samples (`{start, bucketSamples,
   * leads: [{min, max}]}`, NaN where nothing is stored), or null while it is read. */
  tile(bucketSamples, index) {
    const key = `o${bucketSamples}:${index}`;
    return this.#cached(key, this.#tiles, () => this.#readTile(bucketSamples, index));
  }

  #cached(key, cache, read) {
    const value = cache.get(key);
    if (value !== undefined) {
      return value;
    }
    this.#wanted.add(key);
    const failedAt = this.#failed.get(key);
    if (this.#pending.has(key) || (failedAt && performance.now() - failedAt < RETRY_MS)) {
      return null;
    }
    this.#pending.add(key);
    const epoch = this.#epoch;
    this.#limiter
      .run(() => (this.#wanted.has(key) ? read() : undefined))
      .then(
        (value) => {
          if (value !== undefined && epoch === this.#epoch) {
            cache.set(key, value);
            this.#failed.delete(key);
            this.#changed();
          }
        },
        (error) => {
          this.#failed.set(key, performance.now());
          setTimeout(() => this.#changed(), RETRY_MS);
          this.failed(error);
        },
      )
      .finally(() => this.#pending.delete(key));
    return null;
  }

  async #readBlock(index) {
    const start = index * SIGNAL_BLOCK;
    const path = `${this.base}/signal?start=${start}&end=${start + SIGNAL_BLOCK}`;
    const body = await this.#json("signal", path);
    return { start: body.start, leads: body.leads.map((lead) => Int32Array.from(lead.signal)) };
  }

  async #readTile(bucketSamples, index) {
    // A whole tile even past the end: its buckets are then exactly bucketSamples long.
    const start = index * bucketSamples * OVERVIEW_TILE;
    const end = start + bucketSamples * OVERVIEW_TILE;
    const path = `${this.base}/overview?start=${start}&end=${end}&buckets=${OVERVIEW_TILE}`;
    const body = await this.#json("overview", path);
    return {
      start: body.start,
      bucketSamples: body.bucket_samples,
      leads: body.leads.map((lead) => ({ min: numbers(lead.min), max: numbers(lead.max) })),
    };
  }

  async #loadBeats() {
    const body = await this.#json("beats", `${this.base}/beats`);
    this.beats = Float64Array.from(body.sample_indices);
    this.beatsLoaded = true;
    this.#changed();
  }

  async #loadWindows(after) {
    this.windowsComplete = false;
    let path = `${this.base}/windows?limit=${WINDOW_PAGE}`;
    if (after >= 0) {
      path += `&after=${after}`;
    }
    while (path) {
      const page = await this.#json("windows", path);
      this.windows.push(...page.windows.map(windowFacts));
      path = page.next;
      this.#changed();
    }
    this.windowsComplete = true;
    this.#changed();
  }

  #json(kind, path) {
    this.requests[kind] += 1;
    return this.#session.json(path);
  }
}
