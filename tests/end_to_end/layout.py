"""Where elements of a page land on screen, and what the screen shows,
from Debian's headless Chromium over the DevTools protocol on a pipe
(--remote-debugging-pipe: no port, no extra package). For each viewport
given, once the page has loaded and its web fonts are in, prints one JSON
object: the viewport's width, the page's scroll width and, per CSS selector,
the first matching element's box ({"top", "bottom", "left", "right"} in CSS
pixels from the page's top) or null when nothing matches; and saves a PNG
of the viewport when a path is given. The site has no JavaScript of its
own; the measuring expression runs through the protocol, which the page's
CSP does not govern.

    python layout.py CHROMIUM URL SELECTORS_JSON WIDTHxHEIGHT=PNG_PATH_OR_EMPTY...
"""

import base64

import json
import os
import subprocess
import sys
import tempfile


class Browser:
    def __init__(self, chromium, profile):
        to_browser, self._to_browser = os.pipe()
        self._from_browser, from_browser = os.pipe()

        def pipes():
            os.dup2(to_browser, 3)
            os.dup2(from_browser, 4)

        self.process = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-extensions", "--no-first-run", "--disable-quic", "--hide-scrollbars",
             "--lang=zh-CN", "--accept-lang=zh-CN,zh", f"--user-data-dir={profile}",
             "--remote-debugging-pipe", "about:blank"],
            preexec_fn=pipes, pass_fds=(3, 4), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser)
        os.close(from_browser)
        self._buffer = b""
        self._next = 0

    def _read(self):
        while b"\0" not in self._buffer:
            chunk = os.read(self._from_browser, 65536)
            if not chunk:
                raise SystemExit("layout: Chromium closed the protocol pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method, params=None, session=None):
        self._next += 1
        request = {"id": self._next, "method": method, "params": params or {}}
        if session:
            request["sessionId"] = session
        os.write(self._to_browser, json.dumps(request).encode() + b"\0")
        while True:
            message = self._read()
            if message.get("id") == self._next:
                if "error" in message:
                    raise SystemExit(f"layout: {method}: {message['error']}")
                return message["result"]

    def wait_for(self, event, session):
        while True:
            message = self._read()
            if message.get("method") == event and message.get("sessionId") == session:
                return message

    def close(self):
        try:
            self.call("Browser.close")
        finally:
            self.process.wait(timeout=30)


MEASURE = """(async () => {
  await document.fonts.ready;
  const boxes = {};
  for (const selector of %s) {
    const element = document.querySelector(selector);
    if (!element) { boxes[selector] = null; continue; }
    const box = element.getBoundingClientRect();
    boxes[selector] = {top: box.top + scrollY, bottom: box.bottom + scrollY, left: box.left, right: box.right};
  }
  return JSON.stringify({width: innerWidth, height: innerHeight, scrollWidth: document.documentElement.scrollWidth, boxes});
})()"""


def main():
    chromium, url, selectors, *viewports = sys.argv[1:]
    selectors = json.loads(selectors)
    with tempfile.TemporaryDirectory() as profile:
        browser = Browser(chromium, profile)
        try:
            for viewport in viewports:
                size, _, png = viewport.partition("=")
                width, height = (int(n) for n in size.split("x"))
                target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
                session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
                browser.call("Emulation.setDeviceMetricsOverride",
                             {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
                             session)
                browser.call("Page.enable", session=session)
                browser.call("Page.navigate", {"url": url}, session)
                browser.wait_for("Page.loadEventFired", session)
                result = browser.call("Runtime.evaluate",
                                      {"expression": MEASURE % json.dumps(selectors), "awaitPromise": True,
                                       "returnByValue": True}, session)
                if png:
                    shot = browser.call("Page.captureScreenshot", {"format": "png"}, session)
                    with open(png, "wb") as file:
                        file.write(base64.b64decode(shot["data"]))
                print(result["result"]["value"], flush=True)
                browser.call("Target.closeTarget", {"targetId": target})
        finally:
            browser.close()


if __name__ == "__main__":
    main()
