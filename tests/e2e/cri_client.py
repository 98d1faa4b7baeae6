"""A CRI v1 client that is not ours, for the CRI tests: Debian's python3-grpcio with stubs that
python3-grpc-tools generates from Servin's own .proto files (once per session, in a temp dir), and a
`servin daemon` started with a temp --root and its own CRI socket.

    from cri_client import cri, api          # fixtures and the generated messages
    def test_x(cri):                          # cri: one daemon shared by the module's tests
        cri.runtime.Version(api.VersionRequest())
        cri.image.ListImages(api.ListImagesRequest())
        cri.gateway("/v1/runtime/version", {})    # the HTTP/JSON gateway (status, json)
"""

import atexit
import http.client
import importlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import Servin

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROTO = os.path.join(REPO, "proto")

grpc = pytest.importorskip("grpc", reason="python3-grpcio is needed (scripts/install-deps)")


def _generate():
    """Stubs for runtime.v1 (api_pb2, api_pb2_grpc) and grpc.health.v1 (health_pb2, health_pb2_grpc).
    The health stubs are generated flat: a `grpc/` directory of ours would hide the grpc package."""
    out = tempfile.mkdtemp(prefix="cri-stubs-")
    atexit.register(shutil.rmtree, out, True)
    for include, name in ((os.path.join(PROTO, "runtime", "v1"), "api.proto"),
                          (os.path.join(PROTO, "grpc", "health", "v1"), "health.proto")):
        r = subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", include, "--python_out", out,
                            "--grpc_python_out", out, name], capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip("python3-grpc-tools could not generate the stubs: " + r.stderr)
    sys.path.insert(0, out)
    return out


_STUBS = _generate()
api = importlib.import_module("api_pb2")
api_grpc = importlib.import_module("api_pb2_grpc")
health = importlib.import_module("health_pb2")
health_grpc = importlib.import_module("health_pb2_grpc")


class _UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


class CRIDaemon:
    """`servin daemon` with its own root, Docker API socket and CRI socket."""

    def __init__(self, tmp=None, extra=(), cri_socket=True):
        self.tmp = tmp or tempfile.mkdtemp(prefix="cri-", dir="/tmp")  # unix paths < 108 bytes
        self.servin = Servin(self.tmp)
        # Without cri_socket the daemon picks its default: cri.sock in the store's run directory.
        self.sock = os.path.join(self.tmp, "cri.sock") if cri_socket else os.path.join(self.servin.root, "run",
                                                                                         "cri.sock")
        self.cri_socket = cri_socket
        self.docker_sock = os.path.join(self.tmp, "d.sock")
        self.log = os.path.join(self.tmp, "daemon.log")
        self.extra = list(extra)
        self.proc = None
        self.channel = None

    def start(self, env=None):
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            self.servin.argv(["daemon", "-H", "unix://" + self.docker_sock] +
                             (["--cri-socket", self.sock] if self.cri_socket else []) + self.extra),
            env=dict(self.servin.env, **(env or {})), stdout=logf, stderr=logf)
        logf.close()
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("daemon exited %d:\n%s" % (self.proc.returncode, self.log_text()))
            if os.path.exists(self.sock):
                try:
                    self.connect()
                    self.runtime.Version(api.VersionRequest(), timeout=5)
                    return self
                except grpc.RpcError:
                    pass
            time.sleep(0.05)
        raise AssertionError("the CRI socket did not answer:\n" + self.log_text())

    def connect(self):
        if self.channel:
            self.channel.close()
        self.channel = grpc.insecure_channel("unix://" + self.sock)
        self.runtime = api_grpc.RuntimeServiceStub(self.channel)
        self.image = api_grpc.ImageServiceStub(self.channel)
        self.health = health_grpc.HealthStub(self.channel)

    def raw(self, method):
        """A unary method that sends and returns bytes: for unknown methods and bad messages."""
        return self.channel.unary_unary(method, request_serializer=lambda b: b, response_deserializer=lambda b: b)

    def gateway(self, path, body=None, method="POST", timeout=60):
        """The HTTP/JSON gateway on the CRI socket: (HTTP status, parsed JSON reply)."""
        c = _UnixHTTP(self.sock, timeout)
        data = json.dumps(body) if isinstance(body, (dict, list)) else body
        c.request(method, path, body=data, headers={"Content-Type": "application/json"})
        r = c.getresponse()
        raw = r.read()
        c.close()
        try:
            return r.status, json.loads(raw)
        except ValueError:
            return r.status, raw

    def stop(self):
        if self.channel:
            self.channel.close()
            self.channel = None
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()[-6000:]
        except OSError:
            return ""

    def sanitizer_report(self):
        """What AddressSanitizer/UBSan said in the daemon's log (sanitizer builds), or ""."""
        text = self.log_text()
        for mark in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            if mark in text:
                return text[text.index(mark) - 200 if text.index(mark) > 200 else 0:]
        return ""

    def cleanup(self):
        self.stop()
        report = self.sanitizer_report()
        shutil.rmtree(self.tmp, ignore_errors=True)
        assert not report, "the daemon's sanitizer report:\n" + report


def code_of(call, *args, **kw):
    """The gRPC status code (and details) a call fails with; AssertionError when it succeeds."""
    try:
        r = call(*args, **kw)
    except grpc.RpcError as e:
        return e.code(), e.details()
    raise AssertionError("expected the call to fail, it returned %r" % (r,))


@pytest.fixture(scope="module")
def cri():
    d = CRIDaemon().start()
    yield d
    d.cleanup()
