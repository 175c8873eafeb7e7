"""Helpers for the report tests: a client policy on disk, a filled ledger, and headless Chromium over DevTools."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import websocket

from _ledger_support import make_record
from clientguard.ledger import Ledger

CLIENT = "Acme Health GmbH"

POLICY_TOML = """\
[client]
name = "Acme Health GmbH"
identifiers = ["Acme Health", "acme-health.de"]
protected_paths = ["secrets/**", "data/patients/**"]

[contract]
nda = true
audit_log_required = true

[contract.gdpr]
controller = true
authorized_subprocessors = ["openai"]

[[accounts]]
name = "personal"
provider = "openai"
plan = "plus"

[[accounts]]
name = "work"
provider = "openai"
plan = "business"

[gateway]
account = "work"
"""


def write_policy(directory: Path) -> Path:
    """The demo client's clientguard.toml in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "clientguard.toml"
    path.write_text(POLICY_TOML, encoding="utf-8")
    return path


def fill_client_ledger(path: Path, n: int = 24) -> Ledger:
    """A ledger of n requests over a few days: mostly allowed on the work account, every 6th blocked."""
    led = Ledger.open(path)
    for i in range(n):
        blocked = i % 6 == 5
        led.append(make_record(
            i, client=CLIENT, verdict="block" if blocked else "allow",
            account="personal" if blocked else "work", plan="plus" if blocked else "business",
            files=[f"src/service_{i}.py"] + (["secrets/prod.env"] if blocked else []),
        ))
    return led


def chromium_binary() -> str:
    """The Debian chromium that scripts/test.sh installs."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    raise AssertionError("chromium is not installed: scripts/test.sh installs it (apt-get install chromium)")


class DevTools:
    """A headless Chromium page driven over the DevTools protocol (websocket)."""

    def __init__(self, user_data_dir: Path) -> None:
        self.proc = subprocess.Popen(
            [chromium_binary(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--no-first-run", "--no-default-browser-check",
             f"--user-data-dir={user_data_dir}", "--remote-debugging-port=0", "--window-size=1100,900", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        port_file = user_data_dir / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise AssertionError("headless chromium did not open its DevTools port")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
        page = next(t for t in targets if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        self.events: list[dict[str, Any]] = []
        self._id = 0
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and return its result, keeping the events that arrive meanwhile."""
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self._id:
                if "error" in msg:
                    raise AssertionError(f"DevTools {method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def wait_event(self, method: str, timeout: float = 30) -> dict[str, Any]:
        """Wait for an event (or return it if it already came)."""
        for e in self.events:
            if e.get("method") == method:
                return e
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            self.events.append(msg)
            if msg.get("method") == method:
                return msg
        raise AssertionError(f"no {method} within {timeout}s")

    def load(self, url: str) -> None:
        """Navigate and wait for the load event."""
        self.events.clear()
        self.call("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        """Evaluate JavaScript in the page and return its JSON value."""
        res = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in res:
            raise AssertionError(f"page script failed: {res['exceptionDetails']}")
        return res["result"].get("value")

    def screenshot(self, target: Path) -> None:
        """Save a full-page PNG screenshot."""
        import base64

        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        target.write_bytes(base64.b64decode(data))

    def console_errors(self) -> list[str]:
        """Errors the page logged: console.error, uncaught exceptions, CSP and load failures."""
        out = []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append(" ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
            elif m == "Runtime.exceptionThrown":
                out.append(str(p.get("exceptionDetails", {}).get("text")))
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append(p["entry"].get("text", ""))
            elif m == "Network.loadingFailed":
                out.append(f"load failed: {p.get('errorText')}")
        return out

    def requested_urls(self) -> list[str]:
        """Every URL the page asked the network stack for."""
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    def close(self) -> None:
        """Stop the browser."""
        try:
            if getattr(self, "ws", None) is not None:
                self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
