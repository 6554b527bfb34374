"""A headless Chromium driven over the DevTools protocol, for the results-page tests.

Chromium's ``--remote-debugging-pipe`` speaks the DevTools protocol over two file descriptors
(3: commands in, 4: replies and events out; each message JSON ended by a NUL byte), so no
websocket library and no network port is needed. :func:`load_page` opens one URL in a fresh
profile, with every network feature off, waits for the load event and returns what happened:
console messages and errors, requests (every URL the page asked for), failed loads, the
images with their natural width, the links, and a full-page screenshot.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
)
WINDOW = (1280, 900)
READ_TIMEOUT = 60.0
CLOSE_TIMEOUT = 30.0
# What the page reports about itself once loaded: images (src, resolved URL, natural width)
# and links (href as written, resolved URL), and the ids a "#fragment" link may point at.
_INSPECT = """JSON.stringify({
  images: [...document.images].map(i => [i.getAttribute('src'), i.src, i.naturalWidth]),
  links: [...document.querySelectorAll('a[href]')].map(a => [a.getAttribute('href'), a.href]),
  ids: [...document.querySelectorAll('[id]')].map(e => e.id),
  scripts: document.scripts.length,
  stylesheets: [...document.querySelectorAll('link[rel=stylesheet]')].length,
})"""


def find_chromium() -> str | None:
    """The path of a Chromium (or Chrome) executable on PATH, else None."""
    return next(filter(None, (shutil.which(name) for name in CHROMIUM_NAMES)), None)


@dataclass
class PageLoad:
    """What loading a page did and showed."""

    console_errors: list[str] = field(default_factory=list)
    requested: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    images: list[tuple[str, str, int]] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    scripts: int = 0
    stylesheets: int = 0
    screenshot: bytes = b""


class _Pipe:
    """The DevTools protocol over Chromium's pipe: send a command, read until its reply."""

    def __init__(self, commands, replies) -> None:
        self._commands, self._replies = commands, replies
        self._buffer, self._next_id = b"", 0
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> int:
        """Send a command; returns its id."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._commands.write(json.dumps(message).encode() + b"\0")
        return self._next_id

    def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """Send a command and return its result (events read meanwhile are kept)."""
        command_id = self.send(method, params, session)
        while True:
            reply = self.read()
            if reply.get("id") == command_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def read(self, timeout: float = READ_TIMEOUT) -> dict:
        while b"\0" not in self._buffer:
            if not select.select([self._replies], [], [], timeout)[0]:
                raise TimeoutError(f"Chromium sent nothing for {timeout} s")
            chunk = self._replies.read(1 << 16)
            if not chunk:
                raise EOFError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def wait_for(self, method: str, timeout: float) -> None:
        """Read events until ``method`` arrives."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            event = self.read(max(deadline - time.monotonic(), 0.01))
            self.events.append(event)
            if event.get("method") == method:
                return
        raise TimeoutError(f"no {method} within {timeout} s")


def load_page(url: str, chromium: str, timeout: float = 60) -> PageLoad:
    """Open ``url`` in a fresh headless Chromium and report what happened (see the module)."""
    commands_read, commands_write = os.pipe()
    replies_read, replies_write = os.pipe()
    # Chromium's ends go onto descriptors 3 and 4 in the child, from copies above 9: neither
    # copy can then be 3 or 4 (which two dup2 calls onto 3 and 4 would clobber).
    ends = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (commands_read, replies_write)]
    os.close(commands_read)
    os.close(replies_write)

    def onto_3_and_4() -> None:  # in the child, before the exec
        os.dup2(ends[0], 3)  # dup2's copies are inheritable: they survive the exec
        os.dup2(ends[1], 4)

    profile = tempfile.mkdtemp(prefix="mlrc-chromium-")
    width, height = WINDOW
    process = subprocess.Popen(
        [chromium, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"],
        preexec_fn=onto_3_and_4,
        close_fds=False,  # every other descriptor of ours is non-inheritable (PEP 446)
        env={**os.environ, "TMPDIR": profile},  # its shared-memory files go with the profile
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for fd in ends:
        os.close(fd)
    try:
        with (
            os.fdopen(commands_write, "wb", buffering=0) as commands,
            os.fdopen(replies_read, "rb", buffering=0) as replies,
        ):
            pipe = _Pipe(commands, replies)
            try:
                return _inspect(pipe, url, timeout)
            finally:
                _close(pipe, process)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def _close(pipe: _Pipe, process: subprocess.Popen) -> None:
    """Ask Chromium to quit (it then cleans up after itself); kill it if it does not."""
    try:
        pipe.send("Browser.close")
        process.wait(timeout=CLOSE_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired):
        process.kill()
        process.wait(timeout=CLOSE_TIMEOUT)


def _inspect(pipe: _Pipe, url: str, timeout: float) -> PageLoad:
    target = pipe.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = pipe.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        pipe.call(f"{domain}.enable", session=session)
    pipe.events.clear()
    pipe.call("Page.navigate", {"url": url}, session=session)
    pipe.wait_for("Page.loadEventFired", timeout)
    found = json.loads(
        pipe.call(
            "Runtime.evaluate", {"expression": _INSPECT, "returnByValue": True}, session=session
        )["result"]["value"]
    )
    shot = pipe.call(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session=session
    )
    load = PageLoad(
        images=[tuple(image) for image in found["images"]],
        links=[tuple(link) for link in found["links"]],
        ids=found["ids"],
        scripts=found["scripts"],
        stylesheets=found["stylesheets"],
        screenshot=base64.b64decode(shot["data"]),
    )
    _read_events(pipe.events, load)
    return load


def _read_events(events: list[dict], load: PageLoad) -> None:
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            load.console_errors.append(params["exceptionDetails"].get("text", "exception"))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            load.console_errors.append(" ".join(str(a.get("value")) for a in params["args"]))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            entry = params["entry"]
            load.console_errors.append(f"{entry['text']} {entry.get('url', '')}".strip())
        elif method == "Network.requestWillBeSent":
            load.requested.append(params["request"]["url"])
        elif method == "Network.loadingFailed":
            load.failed.append(f"{params.get('type')}: {params['errorText']}")


def file_url(path: Path) -> str:
    return Path(path).resolve().as_uri()
