"""A headless Chromium driven over the DevTools protocol, for the pages that a test has
to use as a person would (log in through a form, press keys, look at the screen).

Chromium is started with ``--remote-debugging-port=0`` and tells its port in the
profile's ``DevToolsActivePort`` file; one WebSocket to the browser (the ``websockets``
package) carries the commands of one tab, attached as a flat session. The tab records
what it asked the network for and every error it logged (a Content-Security-Policy
violation, an exception, a failed request), so that a test can assert on both.
Screenshots are PNGs; ``decode_png`` turns one into a numpy array without an imaging
library (the few lines of the format that Chromium writes: 8-bit RGB or RGBA).
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import struct
import tempfile
import time
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from websockets.asyncio.client import ClientConnection, connect

from infra.system_packages import apt_install

# Chromium's own connections (updates, sync, field trials) are refused on a closed
# network, many at a time; these flags keep it to the page.
QUIET = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

# Debian's package, Ubuntu's older name, and Google's build (GitHub's runners have it).
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

Json = dict[str, Any]
KEY_CODES = {"ArrowLeft": 37, "ArrowUp": 38, "ArrowRight": 39, "ArrowDown": 40}


def find_chromium() -> str:
    """A Chromium on PATH; Debian's installed (as root) when there is none."""
    found = next(filter(None, map(shutil.which, BROWSERS)), None)
    if found is None:
        apt_install(["chromium"], why="pages are checked in headless Chromium")
        found = shutil.which("chromium")
    assert found is not None, "chromium is not on PATH after installing it"
    return found


class DevToolsError(Exception):
    pass


class Tab:
    """One tab: its commands, the events it sent, and helpers over them."""

    def __init__(self, socket: ClientConnection, session_id: str) -> None:
        self._socket = socket
        self._session_id = session_id
        self._ids = iter(range(1, 2**31))
        self._answers: dict[int, asyncio.Future[Json]] = {}
        self.events: list[Json] = []

    async def send(self, method: str, **params: Any) -> Json:
        command_id = next(self._ids)
        answer: asyncio.Future[Json] = asyncio.get_running_loop().create_future()
        self._answers[command_id] = answer
        message = {"id": command_id, "method": method, "params": params}
        await self._socket.send(json.dumps({**message, "sessionId": self._session_id}))
        return await asyncio.wait_for(answer, timeout=60)

    async def read(self) -> None:
        """Hands each answer to its command and keeps each event of this tab."""
        async for text in self._socket:
            message = json.loads(text)
            if message.get("sessionId") != self._session_id:
                continue
            answer = self._answers.pop(message["id"], None) if "id" in message else None
            if answer is None:
                self.events.append(message)
            elif "error" in message:
                answer.set_exception(DevToolsError(message["error"]))
            else:
                answer.set_result(message.get("result", {}))

    async def navigate(self, url: str) -> None:
        seen = len(self.events)
        await self.send("Page.navigate", url=url)
        await self.until(lambda: self._fired("Page.loadEventFired", seen), f"{url} loaded")

    def _fired(self, method: str, after: int) -> bool:
        return any(event["method"] == method for event in self.events[after:])

    async def evaluate(self, expression: str) -> Any:
        """The value of ``expression`` in the page (a promise is awaited)."""
        result = await self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise DevToolsError(result["exceptionDetails"])
        return result["result"].get("value")

    async def wait_for(self, expression: str, what: str, seconds: float = 60) -> Any:
        """The value of ``expression`` once it is truthy; fails after ``seconds``."""
        deadline = time.monotonic() + seconds
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {seconds} s (last: {value!r})")
            await asyncio.sleep(0.1)

    async def until(self, check: Callable[[], bool], what: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {seconds} s")
            await asyncio.sleep(0.05)

    async def press(self, key: str) -> None:
        """A key pressed and released, as the keyboard sends it."""
        code = KEY_CODES.get(key, ord(key.upper()) if len(key) == 1 else 0)
        text = {"text": key} if len(key) == 1 else {}
        for kind in ("keyDown", "keyUp"):
            await self.send(
                "Input.dispatchKeyEvent",
                type=kind,
                key=key,
                windowsVirtualKeyCode=code,
                **(text if kind == "keyDown" else {}),
            )

    async def click(self, x: float, y: float) -> None:
        """The left mouse button pressed and released at ``(x, y)`` (CSS px)."""
        for kind in ("mousePressed", "mouseReleased"):
            await self.send(
                "Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1
            )

    async def wheel(self, x: float, y: float, delta_y: float) -> None:
        """The mouse wheel turned by ``delta_y`` px at ``(x, y)`` (CSS px)."""
        await self.send(
            "Input.dispatchMouseEvent", type="mouseWheel", x=x, y=y, deltaX=0, deltaY=delta_y
        )

    async def screenshot(self) -> bytes:
        shot = await self.send("Page.captureScreenshot", format="png")
        return base64.b64decode(shot["data"])

    @property
    def requested(self) -> list[str]:
        """Every URL the page asked for, in order."""
        return [
            event["params"]["request"]["url"]
            for event in self.events
            if event["method"] == "Network.requestWillBeSent"
        ]

    @property
    def problems(self) -> list[str]:
        """Every error the page logged or threw, with the console's errors."""
        found = []
        for event in self.events:
            params = event.get("params", {})
            if event["method"] == "Log.entryAdded" and params["entry"]["level"] == "error":
                found.append(params["entry"]["text"])
            elif event["method"] == "Runtime.exceptionThrown":
                found.append(json.dumps(params["exceptionDetails"])[:500])
            elif event["method"] == "Runtime.consoleAPICalled" and params["type"] == "error":
                found.append(json.dumps(params["args"])[:500])
        return found


@asynccontextmanager
async def open_tab(chromium: str, width: int, height: int) -> AsyncIterator[Tab]:
    """A new headless Chromium's tab of ``width`` x ``height`` CSS px at 1 device pixel
    a CSS px (so that a screenshot's pixels are the page's), with the page, runtime,
    network and log events on."""
    # Chromium's helper processes may still be writing to the profile as it goes away.
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as folder:
        profile = Path(folder)
        with (profile / "chromium.log").open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                chromium,
                *QUIET,
                f"--user-data-dir={profile}",
                "--remote-debugging-port=0",
                f"--window-size={width},{height}",
                "about:blank",
                stdout=log,
                stderr=log,
            )
        try:
            address = await _devtools_address(profile, process)
            async with connect(address, max_size=None) as socket:
                tab = await _attached_tab(socket)
                reading = asyncio.get_running_loop().create_task(tab.read())
                try:
                    for domain in ("Page", "Runtime", "Network", "Log"):
                        await tab.send(f"{domain}.enable")
                    await tab.send(
                        "Emulation.setDeviceMetricsOverride",
                        width=width,
                        height=height,
                        deviceScaleFactor=1,
                        mobile=False,
                    )
                    yield tab
                finally:
                    reading.cancel()
                    with suppress(asyncio.CancelledError):
                        await reading
        finally:
            with suppress(ProcessLookupError):
                process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout=10)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _devtools_address(profile: Path, process: asyncio.subprocess.Process) -> str:
    """The browser's DevTools WebSocket, from the file Chromium writes once it listens."""
    deadline = time.monotonic() + 60
    active = profile / "DevToolsActivePort"
    while True:
        lines = active.read_text().split("\n") if active.exists() else []
        if len(lines) >= 2 and lines[1]:
            return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        log = (profile / "chromium.log").read_text(errors="replace")[-2000:]
        assert process.returncode is None, f"chromium exited: {log}"
        assert time.monotonic() < deadline, f"chromium did not open its DevTools port: {log}"
        await asyncio.sleep(0.1)


async def _attached_tab(socket: ClientConnection) -> Tab:
    """A new tab, attached as a flat session (its messages carry its session id)."""
    await socket.send(
        json.dumps({"id": 1, "method": "Target.createTarget", "params": {"url": "about:blank"}})
    )
    target = await _answer(socket, 1)
    attach = {"targetId": target["targetId"], "flatten": True}
    await socket.send(json.dumps({"id": 2, "method": "Target.attachToTarget", "params": attach}))
    session = await _answer(socket, 2)
    return Tab(socket, session["sessionId"])


async def _answer(socket: ClientConnection, command_id: int) -> Json:
    async with asyncio.timeout(60):
        while True:
            message = json.loads(await socket.recv())
            if message.get("id") == command_id:
                if "error" in message:
                    raise DevToolsError(message["error"])
                result: Json = message["result"]
                return result


def decode_png(data: bytes) -> NDArray[np.uint8]:
    """The pixels of an 8-bit RGB or RGBA PNG, not interlaced: (height, width, 3 or 4)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, header, compressed = 8, b"", []
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            compressed.append(body)
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert (depth, colour, interlace) in {(8, 2, 0), (8, 6, 0)}, "not 8-bit RGB(A), or interlaced"
    channels = 3 if colour == 2 else 4
    raw = np.frombuffer(zlib.decompress(b"".join(compressed)), dtype=np.uint8)
    raw = raw.reshape(height, 1 + width * channels)
    pixels = np.zeros((height, width * channels), dtype=np.uint8)
    above = np.zeros(width * channels, dtype=np.uint8)
    for y in range(height):
        pixels[y] = _unfilter(int(raw[y, 0]), raw[y, 1:], above, channels)
        above = pixels[y]
    return pixels.reshape(height, width, channels)


def _unfilter(
    kind: int, line: NDArray[np.uint8], above: NDArray[np.uint8], channels: int
) -> NDArray[np.uint8]:
    """One scanline without its filter (PNG specification, section 9.2)."""
    if kind == 0:
        return line
    if kind == 1:  # Sub: a running sum along the line, per channel
        return np.cumsum(line.reshape(-1, channels), axis=0, dtype=np.uint8).reshape(-1)
    if kind == 2:  # Up
        return line + above
    # Average and Paeth depend on the pixel just decoded: one pixel at a time.
    out = np.zeros(line.size, dtype=np.int32)
    up = above.astype(np.int32)
    for i in range(line.size):
        left = int(out[i - channels]) if i >= channels else 0
        if kind == 3:
            predicted = (left + int(up[i])) // 2
        else:
            corner = int(up[i - channels]) if i >= channels else 0
            estimate = left + int(up[i]) - corner
            distances = (abs(estimate - left), abs(estimate - up[i]), abs(estimate - corner))
            predicted = (left, int(up[i]), corner)[distances.index(min(distances))]
        out[i] = (int(line[i]) + predicted) & 0xFF
    return out.astype(np.uint8)
