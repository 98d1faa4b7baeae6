"""`servin daemon`: the server itself — socket, ping, versions, errors, info — driven by raw HTTP
over the unix socket and by the real docker CLI."""

import os
import socket
import sys
import stat
import subprocess
import threading

import pytest

from daemon_util import DOCKER, Daemon, UnixHTTPConnection, short_tmp, start_daemon, teardown_daemon
from conftest import Servin

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the daemon runs containers as root")
needs_docker = pytest.mark.skipif(DOCKER is None, reason="the docker CLI is not installed")


@pytest.fixture
def daemon(servin_bin):
    d = start_daemon()
    yield d
    assert teardown_daemon(d) == 0, d.log_text()


def test_socket_mode_and_ping(daemon):
    st = os.stat(daemon.sock)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660
    r = daemon.request("GET", "/_ping")
    assert r.status == 200 and r.body == b"OK"
    assert r.headers["Api-Version"] == "1.43"
    assert r.headers["Ostype"] == "linux"
    assert daemon.request("HEAD", "/_ping").status == 200
    assert daemon.request("GET", "/v1.40/_ping").body == b"OK"


def test_version_shape(daemon):
    v = daemon.get_json("/v1.43/version")
    assert v["ApiVersion"] == "1.43"
    assert v["MinAPIVersion"] == "1.24"
    assert v["Os"] == "linux"
    assert v["Components"][0]["Name"] == "Engine"


def test_api_version_bounds(daemon):
    r = daemon.request("GET", "/v1.99/version")
    assert r.status == 400
    assert "too new" in r.json()["message"]
    r = daemon.request("GET", "/v1.12/version")
    assert r.status == 400
    assert "too old" in r.json()["message"]


def test_unknown_path_and_method(daemon):
    r = daemon.request("GET", "/v1.43/nothing/here")
    assert r.status == 404
    assert r.json()["message"] == "page not found"
    r = daemon.request("DELETE", "/v1.43/_ping")
    assert r.status == 405
    assert "message" in r.json()


def test_info_shape(daemon):
    info = daemon.get_json("/v1.43/info")
    assert info["DockerRootDir"] == daemon.servin.root
    assert info["Containers"] == 0
    assert info["Images"] == 0
    assert info["OSType"] == "linux"
    assert info["NCPU"] >= 1


def test_concurrent_requests(daemon):
    errors = []

    def one():
        try:
            r = daemon.request("GET", "/v1.43/info")
            if r.status != 200:
                errors.append(r)
        except Exception as e:  # noqa: BLE001 - every failure is reported below
            errors.append(e)

    threads = [threading.Thread(target=one) for _ in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors[:3]
    assert daemon.request("GET", "/_ping").status == 200


def test_malformed_request_does_not_kill_daemon(daemon):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(daemon.sock)
    s.sendall(b"GARBAGE \x00\xff nonsense\r\n\r\n")
    s.settimeout(10)
    try:
        s.recv(1000)
    except OSError:
        pass
    s.close()
    # A client that goes away in the middle of its body.
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(daemon.sock)
    s.sendall(b"POST /v1.43/containers/create HTTP/1.1\r\nHost: d\r\nContent-Length: 100000\r\n\r\n{\"Ima")
    s.close()
    assert daemon.request("GET", "/_ping").status == 200


def test_huge_json_body_is_refused(daemon):
    r = daemon.request("POST", "/v1.43/auth", body=b"[" + b"1," * (5 * 1024 * 1024) + b"1]",
                       headers={"Content-Type": "application/json"})
    assert r.status == 413
    assert "message" in r.json()
    r = daemon.request("POST", "/v1.43/auth", body=b"{not json")
    assert r.status == 400
    assert "invalid JSON" in r.json()["message"]


def test_stale_socket_replaced_live_one_refused(servin_bin):
    d = start_daemon()
    try:
        other = Daemon(d.servin, d.tmp)
        other.log = os.path.join(d.tmp, "other.log")
        r = subprocess.run(d.servin.argv(["daemon", "-H", d.host]), env=d.servin.env, capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 125
        assert "another daemon is listening" in r.stderr
    finally:
        assert teardown_daemon(d) == 0
    assert not os.path.exists(d.sock)


def test_tcp_refused_without_tls_or_off_loopback(servin_bin, tmp_path):
    s = Servin(tmp_path / "s")
    r = s("daemon", "-H", "tcp://127.0.0.1:1", check=False, timeout=30)
    assert r.returncode == 125 and "--tlsverify" in r.stderr
    r = s("daemon", "-H", "tcp://0.0.0.0:1", "--tlsverify", check=False, timeout=30)
    assert r.returncode == 125 and "loopback" in r.stderr
    r = s("daemon", "-H", "http://x", check=False, timeout=30)
    assert r.returncode == 125 and "invalid --host" in r.stderr


@needs_docker
def test_docker_version_and_info(daemon):
    r = daemon.docker("version", "--format", "{{.Server.APIVersion}} {{.Server.Version}}")
    assert r.stdout.strip() == "1.43 0.1.0"
    r = daemon.docker("info", "--format", "{{.DockerRootDir}} {{.Containers}}")
    assert r.stdout.strip() == "%s 0" % daemon.servin.root


def test_socket_activation_fd(servin_bin):
    """--host fd:// takes a listening socket passed as systemd does (fd 3, LISTEN_FDS, LISTEN_PID),
    as servin.socket + servin.service run it; a socket meant for another process is refused."""
    tmp = short_tmp()
    servin = Servin(tmp)
    path = os.path.join(tmp, "act.sock")
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(path)
    lsock.listen(16)
    fd = lsock.fileno()

    # A small launcher puts the socket at fd 3 and names its own pid, which exec hands to the daemon.
    launcher = ("import os, sys; os.dup2(%d, 3); os.environ.setdefault('LISTEN_PID', str(os.getpid())); "
                "os.execv(sys.argv[1], sys.argv[1:])" % fd)

    def activated(*args):
        return [sys.executable, "-c", launcher] + servin.argv(list(args))

    env = dict(servin.env, LISTEN_FDS="1")
    p = subprocess.Popen(activated("daemon", "-H", "fd://"), env=env, pass_fds=(fd,), stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    try:
        d = Daemon(servin, tmp)
        d.sock = path
        d.host = "unix://" + path
        # Asked at once: the connection waits in the socket's queue until the daemon takes it.
        r = d.request("GET", "/_ping", timeout=30)
        assert r.status == 200 and r.body == b"OK"
        assert d.get_json("/v1.43/version")["ApiVersion"] == "1.43"
        if DOCKER:
            assert d.docker("version", "--format", "{{.Server.APIVersion}}").stdout.strip() == "1.43"
        p.terminate()
        code = p.wait(20)
        assert code == 0, p.stdout.read().decode(errors="replace")[-4000:]
        # The socket file belongs to whoever made it (systemd): the daemon leaves it in place.
        assert os.path.exists(path)
        # LISTEN_PID names another process: refused with one clear line.
        r = subprocess.run(activated("daemon", "-H", "fd://"), env=dict(env, LISTEN_PID="1"), pass_fds=(fd,),
                           capture_output=True, text=True, timeout=30)
        assert r.returncode != 0 and "LISTEN_PID" in r.stderr, r.stderr
        r = subprocess.run(servin.argv(["daemon", "-H", "fd://"]), env=servin.env, capture_output=True,
                           text=True, timeout=30)
        assert r.returncode != 0 and "LISTEN_FDS" in r.stderr, r.stderr
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        lsock.close()
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)


def test_systemd_units_name_the_socket_and_fd_host():
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    unit_dir = os.path.join(repo, "contrib", "systemd")
    sock = open(os.path.join(unit_dir, "servin.socket")).read()
    svc = open(os.path.join(unit_dir, "servin.service")).read()
    assert "ListenStream=/run/servin/servin.sock" in sock and "SocketMode=0660" in sock
    assert "daemon --host fd://" in svc and "Requires=servin.socket" in svc
    if shutil_which("systemd-analyze"):
        r = subprocess.run(["systemd-analyze", "verify", os.path.join(unit_dir, "servin.socket")],
                           capture_output=True, text=True)
        assert "servin.socket" not in r.stderr or r.returncode == 0, r.stderr


def shutil_which(name):
    import shutil
    return shutil.which(name)
