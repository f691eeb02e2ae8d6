/**
 * The viewer page of /ecg/{id}: logs in, reads the ECG, and draws the view as it moves.
 *
 * The view is {start, spp}: the sample at the plot's left edge (an integer) and samples
 * per CSS px, from twice paper speed (50 mm/s) out to the whole recording in the plot's
 * width. The controls (controls.js) move it; the address's fragment keeps it
 * (#start=…&spp=…), so that a moment can be linked to.
 *
 * A frame is drawn from whatever has arrived and asks for the rest; each arrival draws
 * again. The status element under the page tells a test what is on the screen: its
 * data-state is "login", "loading", "drawn" (everything in view is drawn and the beats
 * and windows are all read) or "error"; data-source is "signal" or "overview";
 * data-start and data-end the samples in view; data-beat-samples and data-beat-x the
 * beats marked and their x (CSS px on the paper canvas); data-strips each lead's strip;
 * data-requests how many of each read were made; data-frame counts the frames drawn.
 */

import { bindControls } from "./controls.js";
import { Recording } from "./data.js";
import {
  NO_RATE_SAMPLES_PER_MM,
  PAPER_SPEED,
  PX_PER_MM,
  clock,
  drawPaper,
  layout,
} from "./paper.js";
import { ApiError, Session, SignedOut } from "./session.js";
import { drawTrend, trendLayout, trendSample } from "./trend.js";

const POLL_MS = 5000; // how often an ECG still receiving or processing is read again

const id = decodeURIComponent(location.pathname.split("/").filter(Boolean).at(-1) ?? "");
const session = new Session(window.sessionStorage);
const $ = (selector) => document.querySelector(selector);
const ui = {
  id: $("#ecg-id"),
  facts: $("#facts"),
  controls: $("#controls"),
  scale: $("#scale"),
  login: $("#login"),
  problem: $("#login-problem"),
  viewer: $("#viewer"),
  paper: $("#paper"),
  trend: $("#trend"),
  status: $("#status"),
};

let recording = null;
let view = null;
let geometry = null;
let trendGeometry = null;
let frames = 0;
let pending = false;
let problem = null; // what the last failed read said, until something new arrives
let poll = null;

/** Samples per CSS px at paper speed (25 mm/s). */
function paperSpp() {
  const samplesPerMm = recording.rate ? recording.rate / PAPER_SPEED : NO_RATE_SAMPLES_PER_MM;
  return samplesPerMm / PX_PER_MM;
}

/** `spp` within the zoom's bounds: 50 mm/s, and the whole recording in the plot. */
function boundedSpp(spp) {
  const widest = Math.max(paperSpp(), recording.length / geometry.plotWidth);
  return Math.min(Math.max(spp, paperSpp() / 2), widest);
}

/** The view within the recording and the zoom's bounds, its start a whole sample. */
function bounded(next) {
  const spp = boundedSpp(next.spp);
  const last = Math.max(0, recording.length - Math.round(spp * geometry.plotWidth));
  return { start: Math.min(Math.max(0, Math.round(next.start)), last), spp };
}

function show(next) {
  view = bounded(next);
  history.replaceState(null, "", `#start=${view.start}&spp=${+view.spp.toFixed(6)}`);
  schedule();
}

function zoom(factor, anchorX = geometry.plotWidth / 2) {
  const anchor = view.start + anchorX * view.spp; // the sample that stays under the pointer
  const spp = boundedSpp(view.spp * factor);
  show({ start: anchor - anchorX * spp, spp });
}

function move(px) {
  show({ start: view.start + px * view.spp, spp: view.spp });
}

function paperSpeed() {
  const middle = view.start + (geometry.plotWidth / 2) * view.spp;
  show({ start: middle - (geometry.plotWidth / 2) * paperSpp(), spp: paperSpp() });
}

function whole() {
  show({ start: 0, spp: recording.length / geometry.plotWidth });
}

function schedule() {
  if (!pending) {
    pending = true;
    requestAnimationFrame(draw);
  }
}

function fit(canvas, height) {
  const dpr = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  canvas.style.height = `${height}px`;
  if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
  }
  return dpr;
}

function draw() {
  pending = false;
  if (recording?.meta == null || ui.viewer.hidden) {
    return;
  }
  geometry = layout(ui.paper.clientWidth, recording.leads.length);
  trendGeometry = trendLayout(ui.trend.clientWidth, recording.leads.length);
  if (view === null) {
    view = bounded(initialView());
  } else {
    view = bounded(view);
  }
  recording.frame();
  const dpr = fit(ui.paper, geometry.height);
  const drawn = drawPaper(ui.paper.getContext("2d"), geometry, view, recording, dpr);
  const span = Math.round(view.spp * geometry.plotWidth);
  fit(ui.trend, trendGeometry.height);
  drawTrend(ui.trend.getContext("2d"), trendGeometry, view, span, recording, dpr);
  frames += 1;
  report(drawn, span);
}

function initialView() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const start = Number(fragment.get("start"));
  const spp = Number(fragment.get("spp"));
  if (fragment.has("start") && Number.isFinite(start) && Number.isFinite(spp) && spp > 0) {
    return { start, spp };
  }
  return { start: 0, spp: paperSpp() };
}

function report(drawn, span) {
  const end = Math.min(recording.length, view.start + span);
  const complete =
    drawn.complete && recording.beatsLoaded && recording.windowsComplete && problem === null;
  const speed = recording.rate ? recording.rate / (view.spp * PX_PER_MM) : null;
  ui.scale.textContent = speed
    ? `${+speed.toPrecision(3)} mm/s · 10 mm/mV · 1 mm = ${PX_PER_MM.toFixed(2)} px`
    : `${+(view.spp * PX_PER_MM).toPrecision(3)} samples/mm · 10 mm/mV`;
  const rate = recording.rate;
  const at = (sample) => (rate ? clock(sample / rate, view.spp * 100 < rate) : String(sample));
  const marked = drawn.beatSamples.length;
  const beats =
    marked === drawn.beatsInView
      ? `${marked} beats`
      : `${drawn.beatsInView} beats (zoom in to see them)`;
  const state = problem !== null ? "error" : complete ? "drawn" : "loading";
  const text =
    problem !== null
      ? problem
      : `${at(view.start)}–${at(end)} of ${at(recording.length)} · ${beats} · ` +
        `from /${drawn.source}${complete ? "" : " (loading…)"}`;
  setStatus(state, text, {
    source: drawn.source,
    start: view.start,
    end,
    spp: view.spp,
    pxPerMm: PX_PER_MM,
    speed: speed ?? "",
    plotLeft: geometry.left,
    plotWidth: geometry.plotWidth,
    beatTop: geometry.beatTop,
    beatBottom: geometry.beatBottom,
    strips: JSON.stringify(
      geometry.strips.map((strip, i) => ({ name: recording.leads[i].name, ...strip })),
    ),
    beats: marked,
    beatsInView: drawn.beatsInView,
    beatSamples: JSON.stringify(drawn.beatSamples),
    beatX: JSON.stringify(drawn.beatX),
    windows: recording.windows.length,
    requests: JSON.stringify(recording.requests),
    frame: frames,
  });
}

function setStatus(state, text, data = {}) {
  for (const key of Object.keys(ui.status.dataset)) {
    delete ui.status.dataset[key];
  }
  Object.assign(ui.status.dataset, data, { state });
  ui.status.textContent = text;
}

function describe(ecg) {
  const leads = ecg.leads.map((lead) => lead.name).join(", ");
  const rate = ecg.sampling_rate ? `${ecg.sampling_rate} Hz` : "no sampling rate";
  const seconds = recording.length / (ecg.sampling_rate ?? 1);
  const duration = ecg.sampling_rate ? clock(seconds) : `${recording.length} samples`;
  const heartRate = ecg.summary?.heart_rate_bpm?.value;
  const parts = [ecg.date.replace("T", " "), ecg.status, leads, rate, duration];
  if (heartRate != null) {
    parts.push(`${heartRate.toFixed(0)} bpm on average`);
  }
  ui.facts.textContent = parts.join(" · ");
}

/** What a failed read means for the page: the login form, or a problem to state. */
function failed(error) {
  if (error instanceof SignedOut) {
    showLogin("Your session has ended: log in again.");
  } else if (error instanceof ApiError && error.status === 404) {
    stop();
    ui.viewer.hidden = true;
    setStatus("error", "No such ECG, or not yours.");
  } else {
    problem = error instanceof ApiError ? error.message : `The gateway is out of reach (${error})`;
    schedule();
  }
}

function stop() {
  clearTimeout(poll);
  recording = null;
  view = null;
  problem = null;
}

function showLogin(message = "") {
  stop();
  ui.viewer.hidden = true;
  ui.controls.hidden = true;
  ui.login.hidden = false;
  ui.problem.textContent = message;
  setStatus("login", "Log in to see this ECG.");
  ui.login.elements.email.focus();
}

async function open() {
  ui.login.hidden = true;
  ui.viewer.hidden = false;
  ui.controls.hidden = false;
  setStatus("loading", "Reading the ECG…");
  // A recording left behind (logged out, or another opened since) no longer draws.
  const opened = new Recording(
    session,
    id,
    () => {
      if (opened === recording) {
        problem = null;
        schedule();
      }
    },
    (error) => {
      if (opened === recording) failed(error);
    },
  );
  recording = opened;
  try {
    await opened.load();
    describe(opened.meta);
    if (opened.settling) {
      poll = setTimeout(() => refresh(opened), POLL_MS);
    }
  } catch (error) {
    if (opened === recording) failed(error);
  }
}

async function refresh(opened) {
  try {
    await opened.refresh();
    describe(opened.meta);
  } catch (error) {
    if (opened !== recording) return;
    failed(error);
  }
  if (opened === recording && opened.settling) {
    poll = setTimeout(() => refresh(opened), POLL_MS);
  }
}

ui.login.addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(ui.login);
  ui.problem.textContent = "";
  try {
    await session.logIn(form.get("email"), form.get("password"));
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      ui.problem.textContent = "Wrong email or password.";
    } else if (error instanceof ApiError && error.status === 429) {
      ui.problem.textContent = `Too many attempts: try again in ${error.retryAfter ?? 60} s.`;
    } else {
      ui.problem.textContent = error.message;
    }
    return;
  }
  ui.login.reset();
  open();
});

$("#logout").addEventListener("click", async () => {
  await session.logOut();
  showLogin("Logged out.");
});
bindControls(ui, {
  active: () => view !== null && !ui.viewer.hidden,
  plotLeft: () => geometry.left,
  plotWidth: () => geometry.plotWidth,
  move,
  zoom,
  paperSpeed,
  whole,
  home: () => show({ start: 0, spp: view.spp }),
  end: () => show({ start: recording.length, spp: view.spp }),
  steer: (x) => {
    const sample = trendSample(trendGeometry, x, recording.length);
    show({ start: sample - (geometry.plotWidth / 2) * view.spp, spp: view.spp });
  },
});
window.addEventListener("resize", schedule);

ui.id.textContent = id;
if (session.signedIn) {
  open();
} else {
  showLogin();
}
