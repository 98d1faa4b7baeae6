"""`servin daemon` container endpoints, driven by the real docker CLI (run, run -d, ps, logs, exec -i,
attach, stop, rm, inspect, top, diff, rename, events) and by raw HTTP for shapes and error codes.
The image is busybox imported through the servin CLI into the daemon's own store."""

import json
import os
import re
import subprocess
import threading
import time

import pytest

from daemon_util import DOCKER, start_daemon, teardown_daemon

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IMAGE = "localhost/bb:latest"
pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="containers need root"),
              pytest.mark.skipif(DOCKER is None, reason="the docker CLI is not installed")]


@pytest.fixture(scope="module")
def busybox_rootfs(tmp_path_factory):
    path = tmp_path_factory.mktemp("bb-rootfs") / "rootfs.tar"
    subprocess.run([os.path.join(REPO, "scripts", "make-busybox-rootfs"), str(path)], check=True)
    return path


@pytest.fixture
def daemon(servin_bin, busybox_rootfs):
    d = start_daemon()
    d.servin.ok("import", "-c", 'CMD ["sh"]', str(busybox_rootfs), IMAGE)
    yield d
    assert teardown_daemon(d) == 0, d.log_text()


def test_run_foreground_output_and_exit_code(daemon):
    r = daemon.docker("run", "--rm", IMAGE, "sh", "-c", "echo out; echo err >&2; exit 3", check=False)
    assert r.returncode == 3, r
    assert r.stdout == "out\n"
    assert r.stderr == "err\n"
    # --rm: nothing is left.
    assert daemon.docker("ps", "-aq").stdout.strip() == ""


def test_run_with_stdin(daemon):
    r = daemon.docker("run", "-i", "--rm", IMAGE, "cat", input="piped through\n")
    assert r.stdout == "piped through\n"


def test_detached_lifecycle(daemon):
    cid = daemon.docker("run", "-d", "--name", "web", IMAGE, "sh", "-c",
                        "echo hello; echo oops >&2; sleep 300").stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    ps = daemon.docker("ps", "--format", "{{.ID}} {{.Names}} {{.Status}}").stdout.split("\n")[0].split()
    assert ps[0] == cid[:12] and ps[1] == "web" and ps[2] == "Up", ps
    # The CLI sees the same container.
    assert daemon.servin.ok("ps", "-q", "--no-trunc").stdout.split() == [cid]
    deadline = time.time() + 10
    while "hello" not in daemon.docker("logs", "web").stdout and time.time() < deadline:
        time.sleep(0.1)
    r = daemon.docker("logs", "web")
    assert r.stdout == "hello\n" and r.stderr == "oops\n"
    info = json.loads(daemon.docker("inspect", "web").stdout)[0]
    assert info["Id"] == cid and info["State"]["Running"] is True and info["Name"] == "/web"
    assert "sleep" in daemon.docker("top", "web").stdout
    daemon.docker("exec", "web", "touch", "/made-here")
    assert "A /made-here" in daemon.docker("diff", "web").stdout
    daemon.docker("pause", "web")
    assert json.loads(daemon.docker("inspect", "web").stdout)[0]["State"]["Status"] == "paused"
    daemon.docker("unpause", "web")
    daemon.docker("rename", "web", "web2")
    daemon.docker("stop", "-t", "1", "web2")
    info = json.loads(daemon.docker("inspect", "web2").stdout)[0]
    assert info["State"]["Status"] == "exited" and info["State"]["ExitCode"] == 137
    assert daemon.docker("ps", "-q").stdout.strip() == ""
    assert daemon.docker("ps", "-aq", "--filter", "status=exited").stdout.strip() == cid[:12]
    daemon.docker("start", "web2")
    assert daemon.docker("ps", "-q").stdout.strip() == cid[:12]
    daemon.docker("kill", "web2")
    r = daemon.docker("wait", "web2")
    assert r.stdout.strip() == "137"
    daemon.docker("rm", "web2")
    assert daemon.docker("ps", "-aq").stdout.strip() == ""


def test_exec_exit_codes_and_stdin(daemon):
    daemon.docker("run", "-d", "--name", "ex", IMAGE, "sleep", "300")
    r = daemon.docker("exec", "ex", "sh", "-c", "echo in-exec; echo e >&2; exit 5", check=False)
    assert (r.returncode, r.stdout, r.stderr) == (5, "in-exec\n", "e\n")
    r = daemon.docker("exec", "-i", "ex", "cat", input="exec stdin\n")
    assert r.stdout == "exec stdin\n"
    r = daemon.docker("exec", "ex", "no-such-binary", check=False)
    assert r.returncode == 127
    r = daemon.docker("exec", "-e", "FOO=bar", "-w", "/tmp", "ex", "sh", "-c", "echo $FOO $(pwd)")
    assert r.stdout == "bar /tmp\n"
    daemon.docker("rm", "-f", "ex")


def test_attach_to_running_container(daemon):
    daemon.docker("run", "-d", "-i", "--name", "att", IMAGE, "sh", "-c", "read line; echo got:$line")
    env = dict(os.environ, DOCKER_HOST=daemon.host, DOCKER_CONFIG=daemon.docker_config)
    p = subprocess.Popen([DOCKER, "attach", "att"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(1)
    out, err = p.communicate("hello\n", timeout=30)
    assert "got:hello" in out, (out, err)
    assert daemon.docker("wait", "att").stdout.strip() == "0"


def test_logs_follow_tail_timestamps(daemon):
    daemon.docker("run", "-d", "--name", "lg", IMAGE, "sh", "-c",
                  "for i in 1 2 3; do echo line$i; done; sleep 2; echo late")
    r = daemon.docker("logs", "-f", "lg", timeout=30)
    assert r.stdout.split() == ["line1", "line2", "line3", "late"]
    assert daemon.docker("logs", "--tail", "1", "lg").stdout == "late\n"
    r = daemon.docker("logs", "-t", "lg")
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z line1$", r.stdout.splitlines()[0])


def test_raw_api_shapes_and_errors(daemon):
    r = daemon.request("POST", "/v1.43/containers/create?name=raw", body={"Image": IMAGE, "Cmd": ["true"]})
    assert r.status == 201, r
    cid = r.json()["Id"]
    assert r.json()["Warnings"] == []
    r = daemon.request("POST", "/v1.43/containers/create?name=raw", body={"Image": IMAGE})
    assert r.status == 409, r
    r = daemon.request("POST", "/v1.43/containers/create", body={"Image": "localhost/nope:1"})
    assert r.status == 404 and r.json()["message"] == "No such image: localhost/nope:1"
    r = daemon.request("POST", "/v1.43/containers/create", body=b"{bad json")
    assert r.status == 400
    r = daemon.request("POST", "/v1.43/containers/create", body={"Image": IMAGE, "Env": "A=1"})
    assert r.status == 400 and "Env" in r.json()["message"]
    r = daemon.request("POST", "/v1.43/containers/create", body={"Image": IMAGE, "HostConfig": {"Memory": "lots"}})
    assert r.status == 400 and "Memory" in r.json()["message"]
    # None of the refused bodies left a container behind.
    assert [c["Id"] for c in daemon.get_json("/v1.43/containers/json?all=1")] == [cid]
    for path in ("/v1.43/containers/nope/json", "/v1.43/containers/nope/logs?stdout=1"):
        r = daemon.request("GET", path)
        assert r.status == 404 and r.json()["message"] == "No such container: nope"
    assert daemon.request("POST", "/v1.43/containers/nope/start").status == 404
    r = daemon.request("POST", "/v1.43/containers/raw/kill")
    assert r.status == 409
    r = daemon.request("POST", "/v1.43/containers/%s/wait?condition=bogus" % cid)
    assert r.status == 400
    assert daemon.request("POST", "/v1.43/containers/raw/start").status == 204
    r = daemon.request("POST", "/v1.43/containers/raw/wait")
    assert r.status == 200 and r.json() == {"StatusCode": 0, "Error": None}
    assert daemon.request("POST", "/v1.43/containers/raw/stop").status == 304
    summary = daemon.get_json("/v1.43/containers/json?all=1")[0]
    assert summary["Names"] == ["/raw"] and summary["State"] == "exited"
    assert summary["Command"] == "true" and summary["Image"] == IMAGE
    r = daemon.request("GET", "/v1.43/containers/json?filters=%7B%22bogus%22%3A%5B%22x%22%5D%7D")
    assert r.status == 400
    r = daemon.request("POST", "/v1.43/containers/prune")
    assert r.status == 200 and r.json()["ContainersDeleted"] == [cid]
    r = daemon.request("GET", "/v1.43/containers/x/stats")
    assert r.status in (404, 501)


def test_logs_are_multiplexed_without_tty(daemon):
    daemon.docker("run", "--name", "mx", IMAGE, "sh", "-c", "echo a; echo b >&2")
    r = daemon.request("GET", "/v1.43/containers/mx/logs?stdout=1&stderr=1")
    assert r.status == 200
    frames, body = [], r.body
    while body:
        stream, size = body[0], int.from_bytes(body[4:8], "big")
        frames.append((stream, body[8:8 + size]))
        body = body[8 + size:]
    assert sorted(frames) == [(1, b"a\n"), (2, b"b\n")]


def test_client_gone_mid_hijack_does_not_hurt(daemon):
    import socket
    daemon.docker("run", "-d", "-i", "--name", "hj", IMAGE, "cat")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(daemon.sock)
    s.sendall(b"POST /v1.43/containers/hj/attach?stream=1&stdin=1&stdout=1 HTTP/1.1\r\nHost: d\r\n"
              b"Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n")
    head = s.recv(4096)
    assert head.startswith(b"HTTP/1.1 101"), head
    s.sendall(b"ping\n")
    s.close()
    assert daemon.request("GET", "/_ping").status == 200
    assert daemon.get_json("/v1.43/containers/hj/json")["State"]["Running"] in (True, False)
    daemon.docker("rm", "-f", "hj")


def test_events_see_cli_started_containers(daemon):
    env = dict(os.environ, DOCKER_HOST=daemon.host, DOCKER_CONFIG=daemon.docker_config)
    t0 = time.time()
    p = subprocess.Popen([DOCKER, "events", "--filter", "type=container", "--format",
                          "{{.Action}} {{.Actor.Attributes.name}}"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(1)
    # Started by the servin CLI, not through the daemon.
    daemon.servin.ok("run", "-d", "--name", "from-cli", IMAGE, "true")
    daemon.docker("run", "--name", "from-api", IMAGE, "true")
    deadline = time.time() + 20
    lines = []

    def reader():
        for line in p.stdout:
            lines.append(line.strip())

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    while time.time() < deadline and not ({"die from-cli", "die from-api"} <= set(lines)):
        time.sleep(0.2)
    p.terminate()
    p.wait(10)
    for want in ("create from-cli", "start from-cli", "die from-cli", "create from-api", "start from-api",
                 "die from-api"):
        assert want in lines, lines
    # Replayed from the journal with since/until, filtered by container name.
    r = daemon.docker("events", "--since", "%.3f" % t0, "--until", "%.3f" % time.time(), "--filter",
                      "container=from-cli", "--format", "{{.Action}}")
    assert r.stdout.split()[:3] == ["create", "start", "die"], r.stdout


def test_system_df_and_info_counts(daemon):
    daemon.docker("run", "-d", "--name", "dfc", IMAGE, "sleep", "300")
    r = daemon.docker("system", "df")
    assert re.search(r"^Images\s+1\s+1", r.stdout, re.M), r.stdout
    assert re.search(r"^Containers\s+1\s+1", r.stdout, re.M), r.stdout
    assert daemon.docker("info", "--format", "{{.ContainersRunning}}").stdout.strip() == "1"
    daemon.docker("rm", "-f", "dfc")


def test_sigterm_ends_open_streams(daemon):
    daemon.docker("run", "-d", "--name", "st", IMAGE, "sleep", "300")
    env = dict(os.environ, DOCKER_HOST=daemon.host, DOCKER_CONFIG=daemon.docker_config)
    followers = [subprocess.Popen([DOCKER] + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
                 for args in (["logs", "-f", "st"], ["events"])]
    time.sleep(1.5)
    t = time.time()
    assert daemon.stop() == 0, daemon.log_text()
    assert time.time() - t < 10
    for p in followers:
        p.wait(20)
    assert not os.path.exists(daemon.sock)
