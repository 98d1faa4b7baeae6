"""Helpers for tests of the built-in registry server (`servin registry start`).

``ServinRegistry(servin, *args)`` runs ``servin registry start --port 0 <args>`` in the foreground
with the runner's store root as storage (unless ``--storage`` is among args), reads the port it
reports and offers ``.host``, ``.url``, ``.get/.req(method, path, ...)`` and ``.log_text()``.
``.stop()`` sends SIGTERM and waits.
"""

import http.client
import os
import re
import signal
import subprocess
import time


class ServinRegistry:
    def __init__(self, servin, *args, scheme="http", env=None):
        self.servin = servin
        self.scheme = scheme
        self.stderr_tail = ""
        self.log = os.path.join(servin.tmp, "registry-%d.log" % time.monotonic_ns())
        self._logf = open(self.log, "wb")
        self.proc = servin.popen("registry", "start", "--port", "0", *args, stdout=self._logf,
                                 stderr=subprocess.PIPE, env=env)
        line = self.proc.stderr.readline().decode()
        m = re.search(r"listening on (https?)://([^ ]+):(\d+)", line)
        if not m:
            rest = self.proc.stderr.read().decode() if self.proc.poll() is not None else ""
            self.stop()
            raise AssertionError("registry did not start: %s%s" % (line, rest))
        self.port = int(m.group(3))
        self.host = "127.0.0.1:%d" % self.port
        self.url = "%s://%s" % (scheme, self.host)

    def req(self, method, path, body=None, headers=None, timeout=30):
        """One request on a fresh connection -> (status, headers dict (lower-case keys), body)."""
        if self.scheme == "https":
            import ssl
            ctx = ssl._create_unverified_context()
            c = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout, context=ctx)
        else:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def get(self, path, **kw):
        return self.req("GET", path, **kw)

    def log_text(self):
        self._logf.flush()
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        """Stop the server; returns its exit status (a sanitizer report makes it non-zero)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr:
            self.stderr_tail = self.proc.stderr.read().decode("utf-8", "replace")[-6000:]
            self.proc.stderr.close()
        self._logf.close()
        return self.proc.returncode
