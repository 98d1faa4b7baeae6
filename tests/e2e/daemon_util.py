"""Helpers for the `servin daemon` tests: start a daemon on a socket in a temp dir (its own --root),
talk raw HTTP to it over the unix socket, and drive it with the real docker CLI."""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from conftest import Servin

DOCKER = shutil.which("docker")


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=60):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.path)
        self.sock = s


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "Response(%d, %r)" % (self.status, self.body[:500])


class Daemon:
    def __init__(self, servin, tmp):
        self.servin = servin
        self.tmp = tmp
        self.sock = os.path.join(tmp, "d.sock")
        self.host = "unix://" + self.sock
        self.log = os.path.join(tmp, "daemon.log")
        self.proc = None
        self.docker_config = os.path.join(tmp, "docker-config")
        os.makedirs(self.docker_config, exist_ok=True)

    def start(self, *extra):
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(self.servin.argv(["daemon", "-H", self.host] + list(extra)),
                                     env=self.servin.env, stdout=logf, stderr=logf)
        logf.close()
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("daemon exited %d:\n%s" % (self.proc.returncode, self.log_text()))
            if os.path.exists(self.sock):
                try:
                    if self.request("GET", "/_ping").status == 200:
                        return self
                except OSError:
                    pass
            time.sleep(0.05)
        raise AssertionError("daemon did not answer /_ping:\n" + self.log_text())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("daemon did not stop on SIGTERM:\n" + self.log_text())
        return self.proc.returncode if self.proc else None

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()[-6000:]
        except OSError:
            return ""

    def request(self, method, path, body=None, headers=None, timeout=60):
        conn = UnixHTTPConnection(self.sock, timeout=timeout)
        h = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        return Response(r.status, r.headers, data)

    def get_json(self, path, status=200):
        r = self.request("GET", path)
        assert r.status == status, r
        return r.json()

    def docker(self, *args, check=True, input=None, timeout=120, env=None):
        e = dict(os.environ, DOCKER_HOST=self.host, DOCKER_CONFIG=self.docker_config, **(env or {}))
        e.pop("DOCKER_CONTEXT", None)
        r = subprocess.run([DOCKER] + [str(a) for a in args], input=input, capture_output=True,
                           text=not isinstance(input, bytes), timeout=timeout, env=e)
        if check and r.returncode != 0:
            raise AssertionError("docker %s failed (%d)\nstdout: %s\nstderr: %s\ndaemon log:\n%s" % (
                " ".join(map(str, args)), r.returncode, r.stdout, r.stderr, self.log_text()))
        return r


def short_tmp():
    """Unix socket paths (ours and the runtime's, under the root) must stay under 108 bytes."""
    return tempfile.mkdtemp(prefix="sd-", dir="/tmp")


def start_daemon(servin_bin=None):
    tmp = short_tmp()
    servin = Servin(tmp)
    return Daemon(servin, tmp).start()


def teardown_daemon(d):
    try:
        if os.path.exists(d.servin.root):
            ids = d.servin.lines("ps", "-aq", "--no-trunc", check=False)
            for cid in ids:
                d.servin("rm", "-f", cid, check=False)
    finally:
        code = d.stop()
        shutil.rmtree(d.tmp, ignore_errors=True)
    return code
