"""CRI containers over gRPC: two busybox containers in one pod sharing localhost, ExecSync (output,
exit code, timeout), logs in the CRI format with partial lines, ReopenContainerLog after kubelet-style
rotation, status, list filters, stats, resource updates, stop with a grace period, remove, error
codes, and nothing left (process, mount, cgroup) after RemovePodSandbox.

One daemon and one pod serve the whole module (a pod costs a CNI call; ASan makes each start slow)."""

import base64
import hashlib
import json
import os
import re
import socket
import struct
import subprocess
import time
import urllib.parse

import pytest

from cri_client import CRIDaemon, api, code_of, grpc

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IMAGE = "localhost/bb:latest"
CNI_BIN = "/usr/lib/cni"

pytestmark = pytest.mark.skipif(not os.path.exists(os.path.join(CNI_BIN, "loopback")),
                                reason="containernetworking-plugins is needed (scripts/install-deps)")

LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)) (stdout|stderr) ([PF]) (.*)$")


class Env:
    pass


def _wait(pred, timeout=20, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def _container_config(name, argv, **kw):
    return api.ContainerConfig(metadata=api.ContainerMetadata(name=name, attempt=0), image=api.ImageSpec(image=IMAGE),
                               command=argv[:1], args=argv[1:], log_path="%s/0.log" % name, **kw)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    e = Env()
    d = CRIDaemon()
    conf_dir = os.path.join(d.tmp, "net.d")
    os.makedirs(conf_dir)
    # Only loopback: the containers share the pod's localhost, nothing reaches outside.
    with open(os.path.join(conf_dir, "10-lo.conflist"), "w") as f:
        json.dump({"cniVersion": "1.0.0", "name": "servin-e2e-lo", "plugins": [{"type": "loopback"}]}, f)
    rootfs = os.path.join(d.tmp, "rootfs.tar")
    subprocess.run([os.path.join(REPO, "scripts", "make-busybox-rootfs"), rootfs], check=True)
    d.servin.ok("import", "-c", 'CMD ["sh"]', rootfs, IMAGE)
    d.start(env={"SERVIN_CNI_CONF_DIR": conf_dir, "SERVIN_CNI_BIN_DIR": CNI_BIN})
    e.d = d
    e.conf_dir = conf_dir
    e.rt = d.runtime
    e.logdir = os.path.join(d.tmp, "logs")
    os.makedirs(e.logdir)
    e.marker = os.path.basename(d.tmp)
    e.pod_config = api.PodSandboxConfig(
        metadata=api.PodSandboxMetadata(name="web", namespace="e2e", uid="uid-" + e.marker, attempt=0),
        hostname="webpod", log_directory=e.logdir, labels={"app": "web"})
    try:
        e.pod = e.rt.RunPodSandbox(api.RunPodSandboxRequest(config=e.pod_config), timeout=60).pod_sandbox_id
    except grpc.RpcError as err:
        d.cleanup()
        if err.code() == grpc.StatusCode.UNIMPLEMENTED:
            pytest.skip("RunPodSandbox is not served yet")
        raise

    def create(name, argv, **kw):
        req = api.CreateContainerRequest(pod_sandbox_id=e.pod, config=_container_config(name, argv, **kw),
                                         sandbox_config=e.pod_config)
        return e.rt.CreateContainer(req, timeout=60).container_id

    e.create = create
    # The server answers on the pod's localhost; the client prints lines, errors and one long line.
    e.server = create("server", ["sh", "-c", "mkdir -p /www && echo hello-from-server > /www/index.html && "
                                 "exec httpd -f -p 127.0.0.1:8080 -h /www"],
                      labels={"role": "server"}, annotations={"note": "serves"})
    e.client = create("client", ["sh", "-c", "head -c 20000 /dev/zero | tr '\\0' x; echo; i=0; "
                                 "while true; do echo line$i; echo err$i >&2; i=$((i+1)); sleep 0.2; done"],
                      labels={"role": "client"}, envs=[api.KeyValue(key="GREETING", value="hi there")],
                      working_dir="/tmp")
    for cid in (e.server, e.client):
        e.rt.StartContainer(api.StartContainerRequest(container_id=cid), timeout=60)
    yield e
    try:
        d.runtime.StopPodSandbox(api.StopPodSandboxRequest(pod_sandbox_id=e.pod), timeout=60)
        d.runtime.RemovePodSandbox(api.RemovePodSandboxRequest(pod_sandbox_id=e.pod), timeout=60)
    except grpc.RpcError:
        pass
    d.cleanup()


def _status(env, cid):
    return env.rt.ContainerStatus(api.ContainerStatusRequest(container_id=cid, verbose=True), timeout=30)


def _exec(env, cid, argv, timeout=10):
    return env.rt.ExecSync(api.ExecSyncRequest(container_id=cid, cmd=argv, timeout=timeout), timeout=60)


def test_two_containers_share_the_pod_localhost(env):
    r = _wait(lambda: (lambda x: x if x.exit_code == 0 else None)(
        _exec(env, env.client, ["wget", "-qO-", "http://127.0.0.1:8080/"])), what="the server")
    assert r.stdout == b"hello-from-server\n"
    # Same UTS namespace: the pod's hostname; the client's own environment and working directory.
    r = _exec(env, env.client, ["sh", "-c", "hostname; echo $GREETING; pwd"])
    assert r.stdout.decode().split("\n")[:3] == ["webpod", "hi there", "/tmp"]


def test_exec_sync_output_exit_code_and_timeout(env):
    r = _exec(env, env.client, ["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (r.stdout, r.stderr, r.exit_code) == (b"out\n", b"err\n", 3)
    start = time.time()
    code, _ = code_of(env.rt.ExecSync, api.ExecSyncRequest(container_id=env.client, cmd=["sleep", "37"], timeout=1),
                      timeout=60)
    assert code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert time.time() - start < 15
    # The timed-out command is killed, not left running in the container.
    r = _wait(lambda: (lambda x: x if "sleep 37" not in x.stdout.decode() else None)(
        _exec(env, env.client, ["ps", "-o", "args"])), timeout=10, what="the timed out exec to go")
    code, _ = code_of(env.rt.ExecSync, api.ExecSyncRequest(container_id=env.client, cmd=[]), timeout=30)
    assert code == grpc.StatusCode.INVALID_ARGUMENT


def _log_records(path):
    with open(path, errors="replace") as f:
        text = f.read()
    out = []
    for line in text.split("\n")[:-1]:
        m = LINE.match(line)
        assert m, "not a CRI log line: %r" % line[:200]
        out.append((m.group(4), m.group(5), m.group(6)))
    return out


def test_logs_in_cri_format_with_partial_lines_and_reopen(env):
    path = os.path.join(env.logdir, "client", "0.log")
    assert _status(env, env.client).status.log_path == path
    recs = _wait(lambda: (lambda r: r if ("stderr", "F", "err1") in r else None)(_log_records(path)),
                 what="log lines")
    # The 20000-byte line: a partial record of the buffer's size, then the rest as a whole line.
    out = [r for r in recs if r[0] == "stdout"]
    assert out[0] == ("stdout", "P", "x" * 16384)
    assert out[1] == ("stdout", "F", "x" * (20000 - 16384))
    assert ("stdout", "F", "line0") in recs and ("stderr", "F", "err0") in recs
    # kubelet's rotation: rename the file, then ask for a reopen; new lines go to a new file.
    os.rename(path, path + ".20261206-220000")
    env.rt.ReopenContainerLog(api.ReopenContainerLogRequest(container_id=env.client), timeout=30)
    recs = _wait(lambda: os.path.exists(path) and (lambda r: r if len(r) >= 2 else None)(_log_records(path)),
                 what="lines in the reopened log")
    assert all(kind == "F" and (text.startswith("line") or text.startswith("err")) for _, kind, text in recs)
    # `servin logs` reads the CRI format too.
    r = env.d.servin.ok("logs", env.client)
    assert re.search(r"^line\d+$", r.stdout, re.M) and re.search(r"^err\d+$", r.stderr, re.M), (r.stdout, r.stderr)
    code, _ = code_of(env.rt.ReopenContainerLog, api.ReopenContainerLogRequest(container_id="0" * 64), timeout=30)
    assert code == grpc.StatusCode.NOT_FOUND


def test_status_and_list_filters(env):
    r = _status(env, env.server)
    s = r.status
    assert s.state == api.CONTAINER_RUNNING
    assert s.metadata.name == "server" and s.created_at > 0 and s.started_at >= s.created_at
    assert s.labels["role"] == "server" and s.annotations["note"] == "serves"
    assert s.image.image == IMAGE and s.image_ref.startswith("sha256:")
    assert json.loads(r.info["info"])["pid"] > 0
    ids = lambda f: sorted(c.id for c in env.rt.ListContainers(api.ListContainersRequest(filter=f), timeout=30).containers)
    assert ids(api.ContainerFilter(pod_sandbox_id=env.pod)) == sorted([env.server, env.client])
    assert ids(api.ContainerFilter(label_selector={"role": "client"})) == [env.client]
    assert ids(api.ContainerFilter(id=env.server[:12])) == [env.server]
    assert ids(api.ContainerFilter(state=api.ContainerStateValue(state=api.CONTAINER_EXITED),
                                   pod_sandbox_id=env.pod)) == []
    assert ids(api.ContainerFilter(pod_sandbox_id="f" * 64)) == []
    # `servin ps` tells the pod's containers by their label.
    out = env.d.servin.ok("ps", "-q", "--no-trunc", "--filter", "label=io.servin.pod.id=" + env.pod).stdout.split()
    assert sorted(out) == sorted([env.server, env.client])


def test_stats(env):
    st = env.rt.ContainerStats(api.ContainerStatsRequest(container_id=env.client), timeout=30).stats
    assert st.attributes.id == env.client and st.attributes.metadata.name == "client"
    assert st.cpu.usage_core_nano_seconds.value > 0
    assert st.memory.working_set_bytes.value > 0
    s2 = env.rt.ContainerStats(api.ContainerStatsRequest(container_id=env.server), timeout=30).stats
    assert s2.writable_layer.used_bytes.value > 0  # /www/index.html
    lst = env.rt.ListContainerStats(api.ListContainerStatsRequest(
        filter=api.ContainerStatsFilter(pod_sandbox_id=env.pod)), timeout=30).stats
    assert sorted(x.attributes.id for x in lst) == sorted([env.server, env.client])


def test_update_resources(env):
    limit = 96 * 1024 * 1024
    env.rt.UpdateContainerResources(api.UpdateContainerResourcesRequest(
        container_id=env.server, linux=api.LinuxContainerResources(memory_limit_in_bytes=limit, cpu_shares=256)),
        timeout=30)
    assert _status(env, env.server).status.resources.linux.memory_limit_in_bytes == limit
    r = _exec(env, env.server, ["cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/cpu/cpu.shares"])
    assert r.stdout.split() == [str(limit).encode(), b"256"]


def test_kubelet_style_mounts(env):
    # kubelet bind-mounts files (termination log, its own /etc/hosts) and directories, some read-only.
    term = os.path.join(env.d.tmp, "termination-log")
    open(term, "w").close()
    data = os.path.join(env.d.tmp, "data")
    os.makedirs(data, exist_ok=True)
    with open(os.path.join(data, "f"), "w") as f:
        f.write("from-host\n")
    cid = env.create("mounts", ["sh", "-c", "echo done > /dev/termination-log; cat /data/f; touch /data/x; sleep 3600"],
                     mounts=[api.Mount(container_path="/dev/termination-log", host_path=term),
                             api.Mount(container_path="/data", host_path=data, readonly=True)])
    env.rt.StartContainer(api.StartContainerRequest(container_id=cid), timeout=60)
    _wait(lambda: open(term).read() == "done\n", what="the termination log")
    r = _exec(env, cid, ["cat", "/data/f"])
    assert r.stdout == b"from-host\n"
    assert _exec(env, cid, ["touch", "/data/y"]).exit_code != 0  # read-only
    mounts = {m.container_path: m for m in _status(env, cid).status.mounts}
    assert mounts["/data"].readonly and mounts["/data"].host_path == data
    env.rt.StopContainer(api.StopContainerRequest(container_id=cid, timeout=0), timeout=60)
    env.rt.RemoveContainer(api.RemoveContainerRequest(container_id=cid), timeout=60)


def test_exit_code_stop_with_timeout_and_remove(env):
    quick = env.create("quick", ["sh", "-c", "echo bye; exit 7"])
    env.rt.StartContainer(api.StartContainerRequest(container_id=quick), timeout=60)
    s = _wait(lambda: (lambda s: s if s.state == api.CONTAINER_EXITED else None)(_status(env, quick).status),
              what="quick to exit")
    assert (s.exit_code, s.reason) == (7, "Error") and s.finished_at >= s.started_at > 0
    code, _ = code_of(env.rt.StartContainer, api.StartContainerRequest(container_id=quick), timeout=30)
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    # A process that ignores SIGTERM is killed once the grace period is over.
    stubborn = env.create("stubborn", ["sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"])
    # The same name (metadata name and attempt) twice in a pod is refused.
    code, _ = code_of(env.rt.CreateContainer, api.CreateContainerRequest(
        pod_sandbox_id=env.pod, config=_container_config("stubborn", ["true"])), timeout=30)
    assert code == grpc.StatusCode.ALREADY_EXISTS
    # A stop signal of the config's own: SIGINT ends a shell that ignores SIGTERM at once.
    polite = env.create("polite", ["sh", "-c", "trap 'exit 0' INT; trap '' TERM; while true; do sleep 0.1; done"],
                        stop_signal=api.SIGINT)
    env.rt.StartContainer(api.StartContainerRequest(container_id=polite), timeout=60)
    assert _status(env, polite).status.stop_signal == api.SIGINT
    start = time.time()
    env.rt.StopContainer(api.StopContainerRequest(container_id=polite, timeout=30), timeout=60)
    assert time.time() - start < 10
    env.rt.RemoveContainer(api.RemoveContainerRequest(container_id=polite), timeout=60)
    env.rt.StartContainer(api.StartContainerRequest(container_id=stubborn), timeout=60)
    start = time.time()
    env.rt.StopContainer(api.StopContainerRequest(container_id=stubborn, timeout=1), timeout=60)
    took = time.time() - start
    s = _status(env, stubborn).status
    assert s.state == api.CONTAINER_EXITED and s.exit_code == 137
    assert 0.9 <= took < 15
    env.rt.StopContainer(api.StopContainerRequest(container_id=stubborn, timeout=1), timeout=60)  # idempotent
    for cid in (quick, stubborn):
        env.rt.RemoveContainer(api.RemoveContainerRequest(container_id=cid), timeout=60)
        env.rt.RemoveContainer(api.RemoveContainerRequest(container_id=cid), timeout=60)  # idempotent
        code, _ = code_of(env.rt.ContainerStatus, api.ContainerStatusRequest(container_id=cid), timeout=30)
        assert code == grpc.StatusCode.NOT_FOUND


def test_unknown_ids_and_bad_configs(env):
    unknown = "0123456789" * 6 + "abcd"
    for call, req in ((env.rt.ContainerStatus, api.ContainerStatusRequest(container_id=unknown)),
                      (env.rt.StartContainer, api.StartContainerRequest(container_id=unknown)),
                      (env.rt.StopContainer, api.StopContainerRequest(container_id=unknown)),
                      (env.rt.ExecSync, api.ExecSyncRequest(container_id=unknown, cmd=["true"])),
                      (env.rt.ContainerStats, api.ContainerStatsRequest(container_id=unknown)),
                      (env.rt.UpdateContainerResources, api.UpdateContainerResourcesRequest(container_id=unknown))):
        code, msg = code_of(call, req, timeout=30)
        assert code == grpc.StatusCode.NOT_FOUND, (call, code, msg)
        assert unknown in msg
    bad = [
        api.CreateContainerRequest(pod_sandbox_id=env.pod, config=api.ContainerConfig(
            metadata=api.ContainerMetadata(name="noimage"))),
        api.CreateContainerRequest(pod_sandbox_id=env.pod, config=_container_config(
            "relwd", ["true"], working_dir="relative")),
        api.CreateContainerRequest(pod_sandbox_id=env.pod, config=_container_config(
            "badmount", ["true"], mounts=[api.Mount(container_path="rel", host_path="/tmp")])),
        api.CreateContainerRequest(pod_sandbox_id=env.pod, config=_container_config(
            "badgroup", ["true"], linux=api.LinuxContainerConfig(security_context=api.LinuxContainerSecurityContext(
                run_as_group=api.Int64Value(value=5))))),
        api.CreateContainerRequest(pod_sandbox_id=env.pod),
    ]
    for req in bad:
        code, msg = code_of(env.rt.CreateContainer, req, timeout=30)
        assert code == grpc.StatusCode.INVALID_ARGUMENT, (req, code, msg)
    code, _ = code_of(env.rt.CreateContainer, api.CreateContainerRequest(
        pod_sandbox_id="f" * 64, config=_container_config("nopod", ["true"])), timeout=30)
    assert code == grpc.StatusCode.NOT_FOUND
    # The rejected configs left no container behind.
    left = env.rt.ListContainers(api.ListContainersRequest(filter=api.ContainerFilter(pod_sandbox_id=env.pod)),
                                 timeout=30).containers
    assert sorted(c.id for c in left) == sorted([env.server, env.client])


class WebSocket:
    """A minimal websocket client (RFC 6455) for Kubernetes' channel protocol: one channel byte
    before each binary message."""

    def __init__(self, url, protocol="v5.channel.k8s.io"):
        u = urllib.parse.urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=20)
        key = base64.b64encode(os.urandom(16)).decode()
        path = u.path + ("?" + u.query if u.query else "")
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n\r\n"
                           % (path, u.hostname, u.port, key, protocol)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            b = self.sock.recv(1)
            if not b:
                break
            head += b
        self.status = int(head.split(b" ")[1]) if head else 0
        self.head = head.decode(errors="replace")
        if self.status == 101:
            want = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC11B85").encode()).digest())
            assert ("Sec-WebSocket-Accept: " + want.decode()) in self.head, self.head
            assert ("Sec-WebSocket-Protocol: " + protocol) in self.head, self.head

    def send(self, channel, data, opcode=2):
        payload = bytes([channel]) + data
        mask = os.urandom(4)
        n = len(payload)
        hdr = bytes([0x80 | opcode]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n))
        self.sock.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _read(self, n):
        out = b""
        while len(out) < n:
            b = self.sock.recv(n - len(out))
            if not b:
                raise EOFError
            out += b
        return out

    def recv_all(self, until=None):
        """{channel: [bytes]} until the server closes (or the time `until` passes)."""
        got = {}
        while until is None or time.time() < until:
            if until is not None:
                self.sock.settimeout(max(0.05, until - time.time()))
            try:
                h = self._read(2)
            except (EOFError, OSError):
                return got
            op, n = h[0] & 0x0F, h[1] & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            data = self._read(n)
            if op == 8:
                return got
            if op == 2 and data:
                got.setdefault(data[0], []).append(data[1:])
        return got


def test_exec_through_the_streaming_server(env):
    url = env.rt.Exec(api.ExecRequest(container_id=env.client, cmd=["sh", "-c", "read x; echo got:$x; echo oops >&2; exit 5"],
                                      stdin=True, stdout=True, stderr=True), timeout=30).url
    assert url.startswith("http://127.0.0.1:")
    ws = WebSocket(url)
    assert ws.status == 101, ws.head
    ws.send(0, b"hello\n")
    ws.send(255, b"\x00")  # v5: close stdin
    got = ws.recv_all()
    assert b"".join(got.get(1, [])) == b"got:hello\n"
    assert b"".join(got.get(2, [])) == b"oops\n"
    status = json.loads(b"".join(got[3]))
    assert status["status"] == "Failure" and status["details"]["causes"][0]["message"] == "5"
    # The token was good for one stream only; SPDY is refused with a reason.
    assert WebSocket(url).status == 404
    url = env.rt.Exec(api.ExecRequest(container_id=env.client, cmd=["true"], stdout=True), timeout=30).url
    u = urllib.parse.urlparse(url)
    s = socket.create_connection((u.hostname, u.port), timeout=10)
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n" % u.path).encode())
    reply = s.recv(4096).decode()
    s.close()
    assert reply.startswith("HTTP/1.1 400") and "SPDY" in reply
    # A successful command ends with a Success status (v4 protocol this time).
    url = env.rt.Exec(api.ExecRequest(container_id=env.client, cmd=["echo", "v4"], stdout=True), timeout=30).url
    ws = WebSocket(url, "v4.channel.k8s.io")
    got = ws.recv_all()
    assert b"".join(got[1]) == b"v4\n" and json.loads(b"".join(got[3]))["status"] == "Success"
    # With a terminal: the output comes through the pty (stdout only, with its CRLF).
    url = env.rt.Exec(api.ExecRequest(container_id=env.client, cmd=["sh", "-c", "tty; echo hi"], tty=True,
                                      stdout=True), timeout=30).url
    got = WebSocket(url).recv_all(until=time.time() + 20)
    out = b"".join(got.get(1, []))
    assert b"/dev/pts/" in out and b"hi\r\n" in out, got
    # A resize on channel 4 reaches the process's terminal.
    url = env.rt.Exec(api.ExecRequest(container_id=env.client, cmd=["sh", "-c", "sleep 1; stty size"], tty=True,
                                      stdout=True), timeout=30).url
    ws = WebSocket(url)
    ws.send(4, json.dumps({"Width": 101, "Height": 41}).encode())
    out = b"".join(ws.recv_all(until=time.time() + 20).get(1, []))
    assert b"41 101" in out, out


def test_port_forward_reaches_the_pod_localhost(env):
    url = env.rt.PortForward(api.PortForwardRequest(pod_sandbox_id=env.pod, port=[8080]), timeout=30).url
    ws = WebSocket(url, "v4.channel.k8s.io")
    assert ws.status == 101, ws.head
    ws.send(0, b"GET /index.html HTTP/1.0\r\n\r\n")
    got = ws.recv_all()
    # Each channel opens with the port, little endian.
    assert got[0][0] == struct.pack("<H", 8080) and got[1][0] == struct.pack("<H", 8080)
    assert b"hello-from-server" in b"".join(got[0][1:])
    code, _ = code_of(env.rt.PortForward, api.PortForwardRequest(pod_sandbox_id="f" * 64, port=[1]), timeout=30)
    assert code == grpc.StatusCode.NOT_FOUND


def test_attach_streams_the_container_output(env):
    url = env.rt.Attach(api.AttachRequest(container_id=env.client, stdout=True, stderr=True), timeout=30).url
    ws = WebSocket(url)
    assert ws.status == 101, ws.head
    got = ws.recv_all(until=time.time() + 1.5)  # what 1.5 s of a live container print
    out, err = b"".join(got.get(1, [])), b"".join(got.get(2, []))
    assert re.search(rb"line\d+\n", out) and re.search(rb"err\d+\n", err), got
    ws.sock.close()
    # Detaching does not stop the container.
    assert _status(env, env.client).status.state == api.CONTAINER_RUNNING


def test_attach_with_stdin(env):
    cid = env.create("cat", ["sh", "-c", "while read l; do echo got:$l; done"], stdin=True)
    env.rt.StartContainer(api.StartContainerRequest(container_id=cid), timeout=60)
    url = env.rt.Attach(api.AttachRequest(container_id=cid, stdin=True, stdout=True, stderr=True), timeout=30).url
    ws = WebSocket(url)
    assert ws.status == 101, ws.head
    ws.send(0, b"ping\n")
    deadline = time.time() + 20
    out = b""
    while b"got:ping\n" not in out and time.time() < deadline:
        out += b"".join(ws.recv_all(until=time.time() + 0.5).get(1, []))
    assert b"got:ping\n" in out
    ws.sock.close()
    env.rt.StopContainer(api.StopContainerRequest(container_id=cid, timeout=0), timeout=60)
    env.rt.RemoveContainer(api.RemoveContainerRequest(container_id=cid), timeout=60)


def test_image_by_id_and_a_pod_that_shares_pids(env):
    image_id = env.d.image.ImageStatus(api.ImageStatusRequest(image=api.ImageSpec(image=IMAGE)), timeout=30).image.id
    assert image_id
    cfg = api.PodSandboxConfig(
        metadata=api.PodSandboxMetadata(name="shared", namespace="e2e", uid="uid2-" + env.marker, attempt=0),
        hostname="shared", log_directory=env.logdir,
        linux=api.LinuxPodSandboxConfig(security_context=api.LinuxSandboxSecurityContext(
            namespace_options=api.NamespaceOption(network=api.POD, pid=api.POD, ipc=api.POD))))
    pod = env.rt.RunPodSandbox(api.RunPodSandboxRequest(config=cfg), timeout=60).pod_sandbox_id
    try:
        ids = []
        for name, argv in (("first", ["sleep", "3601"]), ("second", ["sleep", "3602"])):
            c = api.ContainerConfig(metadata=api.ContainerMetadata(name=name), image=api.ImageSpec(image=image_id),
                                    command=argv, log_path="shared/%s.log" % name,
                                    linux=api.LinuxContainerConfig(security_context=api.LinuxContainerSecurityContext(
                                        namespace_options=api.NamespaceOption(network=api.POD, pid=api.POD,
                                                                              ipc=api.POD))))
            cid = env.rt.CreateContainer(api.CreateContainerRequest(pod_sandbox_id=pod, config=c, sandbox_config=cfg),
                                         timeout=60).container_id
            env.rt.StartContainer(api.StartContainerRequest(container_id=cid), timeout=60)
            ids.append(cid)
        assert _status(env, ids[0]).status.image_ref == image_id
        # The second container sees the first one's process: one PID namespace for the pod.
        r = _exec(env, ids[1], ["ps", "-o", "args"])
        assert b"sleep 3601" in r.stdout and b"sleep 3602" in r.stdout
        # In the other pod (PIDs per container), the client sees only its own.
        assert b"httpd" not in _exec(env, env.client, ["ps", "-o", "args"]).stdout
    finally:
        env.rt.StopPodSandbox(api.StopPodSandboxRequest(pod_sandbox_id=pod), timeout=60)
        env.rt.RemovePodSandbox(api.RemovePodSandboxRequest(pod_sandbox_id=pod), timeout=60)


def test_containers_survive_a_daemon_restart(env):
    env.d.stop()
    env.d.start(env={"SERVIN_CNI_CONF_DIR": env.conf_dir, "SERVIN_CNI_BIN_DIR": CNI_BIN})
    env.rt = env.d.runtime
    s = _status(env, env.server).status
    assert s.state == api.CONTAINER_RUNNING and s.labels["role"] == "server"
    r = _exec(env, env.client, ["wget", "-qO-", "http://127.0.0.1:8080/"])
    assert r.stdout == b"hello-from-server\n"


def _cgroup_dirs(pid):
    dirs = []
    with open("/proc/%d/cgroup" % pid) as f:
        for line in f:
            _, ctrl, path = line.rstrip("\n").split(":", 2)
            if ctrl in ("memory", "pids", "cpu,cpuacct"):
                dirs.append("/sys/fs/cgroup/%s%s" % (ctrl, path))
    return dirs


def test_zz_nothing_left_after_remove_pod_sandbox(env):
    pids = [json.loads(_status(env, c).info["info"])["pid"] for c in (env.server, env.client)]
    cgroups = [d for p in pids for d in _cgroup_dirs(p)]
    assert cgroups and all(os.path.isdir(d) for d in cgroups)
    env.rt.StopPodSandbox(api.StopPodSandboxRequest(pod_sandbox_id=env.pod), timeout=60)
    for cid in (env.server, env.client):
        assert _status(env, cid).status.state == api.CONTAINER_EXITED
    env.rt.RemovePodSandbox(api.RemovePodSandboxRequest(pod_sandbox_id=env.pod), timeout=60)
    assert len(env.rt.ListContainers(api.ListContainersRequest(), timeout=30).containers) == 0
    for p in pids:
        _wait(lambda: not os.path.exists("/proc/%d" % p), timeout=10, what="pid %d to go" % p)
    _wait(lambda: not any(os.path.isdir(d) for d in cgroups), timeout=10, what="the container cgroups to go")
    with open("/proc/self/mountinfo") as f:
        left = [l for l in f if env.d.tmp in l]
    assert left == [], left
    # No monitor of ours is left either (their on-exit cleanup may take a moment under ASan).
    def ours():
        mine = []
        for p in os.listdir("/proc"):
            if p.isdigit():
                try:
                    with open("/proc/%s/cmdline" % p, "rb") as f:
                        cmd = f.read()
                except OSError:
                    continue
                if env.d.tmp.encode() in cmd and b"daemon" not in cmd:
                    mine.append(cmd)
        return mine
    _wait(lambda: not ours(), timeout=30, what="the monitors to end")
