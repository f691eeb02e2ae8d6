/**
 * The viewer's controls: the buttons, the keys, the wheel and dragging on the paper,
 * and pointing at the trend, each turned into a move of the view (`moves`, given by
 * viewer.js). Keys act unless a field or a button has the focus, and never with Alt,
 * Ctrl or Meta (the browser's own shortcuts stay).
 */

/** `moves`: {active(), plotLeft(), plotWidth(), move(px), zoom(factor, anchorX),
 * paperSpeed(), whole(), home(), end(), steer(x on the trend)}. */
export function bindControls(ui, moves) {
  const buttons = {
    "#zoom-in": () => moves.zoom(1 / 2),
    "#zoom-out": () => moves.zoom(2),
    "#paper-speed": () => moves.paperSpeed(),
    "#whole": () => moves.whole(),
  };
  for (const [selector, action] of Object.entries(buttons)) {
    document.querySelector(selector).addEventListener("click", () => {
      if (moves.active()) action();
    });
  }

  const keys = {
    ArrowLeft: (event) => moves.move((event.shiftKey ? -1 : -0.25) * moves.plotWidth()),
    ArrowRight: (event) => moves.move((event.shiftKey ? 1 : 0.25) * moves.plotWidth()),
    PageUp: () => moves.move(-moves.plotWidth()),
    PageDown: () => moves.move(moves.plotWidth()),
    Home: () => moves.home(),
    End: () => moves.end(),
    ArrowUp: () => moves.zoom(1 / 2),
    ArrowDown: () => moves.zoom(2),
    "+": () => moves.zoom(1 / 2),
    "=": () => moves.zoom(1 / 2),
    "-": () => moves.zoom(2),
    0: () => moves.paperSpeed(),
    a: () => moves.whole(),
    A: () => moves.whole(),
  };
  document.addEventListener("keydown", (event) => {
    const action = keys[event.key];
    if (!action || !moves.active() || event.target.closest("input, button")) return;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    event.preventDefault();
    action(event);
  });

  // The wheel zooms about the pointer; with Shift, or turned sideways, it moves.
  ui.paper.addEventListener(
    "wheel",
    (event) => {
      if (!moves.active()) return;
      event.preventDefault();
      const unit = event.deltaMode === 1 ? 16 : event.deltaMode === 2 ? moves.plotWidth() : 1;
      const sideways = Math.abs(event.deltaX) > Math.abs(event.deltaY);
      if (event.shiftKey || sideways) {
        moves.move((sideways ? event.deltaX : event.deltaY) * unit);
      } else {
        const x = Math.max(0, event.offsetX - moves.plotLeft());
        moves.zoom(Math.exp(event.deltaY * unit * 0.002), x);
      }
    },
    { passive: false },
  );

  follow(ui.paper, (event, last) => {
    if (last === null) {
      ui.paper.focus();
    } else {
      moves.move(last.clientX - event.clientX);
    }
  });
  follow(ui.trend, (event) => moves.steer(event.offsetX));

  /** Calls `step(event, the event before or null)` from a pointer's press on `element`
   * to its release. */
  function follow(element, step) {
    let last = null;
    element.addEventListener("pointerdown", (event) => {
      if (!moves.active()) return;
      element.setPointerCapture(event.pointerId);
      step(event, null);
      last = event;
    });
    element.addEventListener("pointermove", (event) => {
      if (last === null) return;
      step(event, last);
      last = event;
    });
    for (const type of ["pointerup", "pointercancel"]) {
      element.addEventListener(type, () => {
        last = null;
      });
    }
  }
}
