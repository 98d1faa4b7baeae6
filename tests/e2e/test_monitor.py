"""The container monitor (`servin-runtime monitor`), driven directly on busybox bundles.

`monitor --spawn ...` runs servin_monitor_spawn (double fork, setsid, readiness line) and prints
"<container pid> <monitor pid>"; `monitor --attach --run-dir D` runs the attach client on its own
stdio. Every test checks afterwards that the monitor is gone and left no runtime state, cgroup
directory or container process behind.
"""

import json
import os
import socket
import struct
import subprocess
import tarfile
import time
import uuid

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the monitor tests need root")


def _runtime_bin():
    env = os.environ.get("SERVIN_RUNTIME_BIN")
    if env:
        return env
    servin = os.environ.get("SERVIN_BIN") or os.path.join(REPO, "build", "servin")
    return os.path.join(os.path.dirname(os.path.abspath(servin)), "servin-runtime")


@pytest.fixture(scope="session")
def busybox_tar(tmp_path_factory):
    path = tmp_path_factory.mktemp("busybox") / "rootfs.tar"
    subprocess.run([os.path.join(REPO, "scripts", "make-busybox-rootfs"), str(path)], check=True)
    return path


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class Mon:
    def __init__(self, tmp, tar):
        self.bin = _runtime_bin()
        if not os.access(self.bin, os.X_OK):
            pytest.skip(f"servin-runtime not found at {self.bin}")
        self.tmp = tmp
        self.bundle = tmp / "bundle"
        (self.bundle / "rootfs").mkdir(parents=True)
        with tarfile.open(tar) as t:
            t.extractall(self.bundle / "rootfs")
        subprocess.run([self.bin, "spec", "--bundle", str(self.bundle)], check=True)
        self.oci_root = tmp / "oci"
        self.ids = []
        self.monitors = []
        self.env = dict(os.environ, SERVIN_RUNTIME_BIN=self.bin)

    def run_dir(self, cid):
        # Long on purpose: attach.sock must work past sun_path's 108 bytes.
        return str(self.tmp / "run" / ("d" * 60) / cid)

    def log(self, cid):
        return str(self.tmp / f"{cid}.log.json")

    def set_process(self, args, terminal=False):
        with open(self.bundle / "config.json") as f:
            spec = json.load(f)
        spec["process"]["args"] = list(args)
        spec["process"]["terminal"] = terminal
        with open(self.bundle / "config.json", "w") as f:
            json.dump(spec, f)

    def spawn(self, args, *flags, terminal=False, check=True, **kw):
        self.set_process(args, terminal)
        cid = "m" + uuid.uuid4().hex[:10]
        self.ids.append(cid)
        cmd = [self.bin, "monitor", "--spawn", f"--id={cid}", f"--bundle={self.bundle}",
               f"--oci-root={self.oci_root}", f"--run-dir={self.run_dir(cid)}", f"--log-path={self.log(cid)}",
               *flags]
        res = subprocess.run(cmd, capture_output=True, text=True, env=self.env, timeout=30, **kw)
        if check:
            assert res.returncode == 0, res.stderr
            cpid, mpid = (int(x) for x in res.stdout.split())
            self.monitors.append(mpid)
            return cid, cpid, mpid
        return cid, res

    def wait_gone(self, cid, mpid, timeout=20):
        end = time.time() + timeout
        while _alive(mpid) and time.time() < end:
            time.sleep(0.05)
        assert not _alive(mpid), "the monitor did not exit"
        assert not os.path.exists(os.path.join(self.run_dir(cid), "monitor.pid"))

    def exit_file(self, cid):
        with open(os.path.join(self.run_dir(cid), "exit")) as f:
            return json.load(f)

    def state_file(self, cid):
        with open(os.path.join(self.run_dir(cid), "state")) as f:
            return json.load(f)

    def entries(self, cid, path=None):
        with open(path or self.log(cid)) as f:
            return [json.loads(line) for line in f]

    def kill(self, cid, sig="KILL"):
        subprocess.run([self.bin, "--root", str(self.oci_root), "kill", cid, sig], check=True)

    def attach(self, cid, *flags, input=None):
        return subprocess.run([self.bin, "monitor", "--attach", f"--run-dir={self.run_dir(cid)}", *flags],
                              input=input, capture_output=True, timeout=30)


@pytest.fixture
def mon(tmp_path, busybox_tar):
    m = Mon(tmp_path, busybox_tar)
    yield m
    for pid in m.monitors:
        if _alive(pid):
            os.kill(pid, 9)
    for cid in m.ids:
        subprocess.run([m.bin, "--root", str(m.oci_root), "delete", "--force", cid], capture_output=True)
    leaked = [pid for pid in m.monitors if _alive(pid)]
    assert not leaked, f"monitors still running: {leaked}"
    assert not os.path.exists(m.oci_root) or os.listdir(m.oci_root) == [], "runtime state leaked"
    for cid in m.ids:
        found = subprocess.run(["find", "/sys/fs/cgroup", "-maxdepth", "6", "-type", "d", "-name", cid],
                               capture_output=True, text=True).stdout
        assert found == "", f"cgroup directories leaked: {found}"
    with open("/proc/self/mountinfo") as f:
        assert str(m.bundle) not in f.read(), "a mount of the bundle leaked"


def _time_ns(text):
    # "2026-11-25T15:02:33.443557724Z"
    base, frac = text[:-1].split(".")
    sec = time.mktime(time.strptime(base, "%Y-%m-%dT%H:%M:%S")) - time.timezone
    assert len(frac) == 9
    return int(sec) * 10**9 + int(frac)


def test_exit_code_and_json_log(mon):
    cid, cpid, mpid = mon.spawn(["sh", "-c", "echo out; echo err >&2; printf partial; exit 3"])
    assert cpid > 0 and mpid > 0
    mon.wait_gone(cid, mpid)
    ex = mon.exit_file(cid)
    assert ex["ExitCode"] == 3 and ex["OOMKilled"] is False
    assert abs(ex["FinishedAt"] - time.time_ns()) < 60 * 10**9
    entries = mon.entries(cid)
    by_stream = {(e["stream"], e["log"]) for e in entries}
    assert ("stdout", "out\n") in by_stream and ("stderr", "err\n") in by_stream
    assert ("stdout", "partial") in by_stream  # the last partial line is flushed at EOF
    for e in entries:
        assert abs(_time_ns(e["time"]) - time.time_ns()) < 60 * 10**9
    st = mon.state_file(cid)
    assert st["Status"] == "running" and st["Pid"] == cpid and st["RestartCount"] == 0


def test_long_line_split_and_escaping(mon):
    script = "head -c 20000 /dev/zero | tr '\\0' a; echo; printf 'q\"\\\\\\t\\001\\377\\n'"
    cid, _, mpid = mon.spawn(["sh", "-c", script])
    mon.wait_gone(cid, mpid)
    logs = [e["log"] for e in mon.entries(cid)]
    assert logs[0] == "a" * 16384  # a line past 16 KiB is cut into its own entry
    assert logs[1] == "a" * (20000 - 16384) + "\n"
    assert logs[2] == 'q"\\\t\x01\ufffd\n'  # invalid UTF-8 becomes U+FFFD, the JSON still parses


def test_failed_exec_reports_127_and_leaves_nothing(mon):
    cid, res = mon.spawn(["no-such-program"], check=False)
    assert res.returncode == 127, res.stderr
    assert "executable file not found" in res.stderr and res.stderr.startswith("servin: ")
    assert res.stderr.count("\n") == 1
    time.sleep(0.3)
    assert not os.path.exists(os.path.join(mon.run_dir(cid), "monitor.pid"))
    assert mon.exit_file(cid)["ExitCode"] == 127


def test_restart_on_failure_twice(mon):
    cid, _, mpid = mon.spawn(["sh", "-c", "echo run; exit 1"], "--restart=on-failure", "--restart-max=2")
    mon.wait_gone(cid, mpid)
    runs = [e for e in mon.entries(cid) if e["log"] == "run\n"]
    assert len(runs) == 3
    assert mon.state_file(cid)["RestartCount"] == 2
    assert mon.exit_file(cid)["ExitCode"] == 1
    # The back-off (100 ms, then 200 ms) separates the runs.
    t = [_time_ns(e["time"]) for e in runs]
    assert t[1] - t[0] >= 90 * 10**6 and t[2] - t[1] >= 190 * 10**6


def test_on_failure_does_not_restart_a_success(mon):
    cid, _, mpid = mon.spawn(["true"], "--restart=on-failure")
    mon.wait_gone(cid, mpid)
    assert mon.state_file(cid)["RestartCount"] == 0


def test_always_restarts_until_the_stopped_marker(mon):
    cid, cpid, mpid = mon.spawn(["sh", "-c", "echo run; exec sleep 987"], "--restart=always")
    mon.kill(cid)
    end = time.time() + 10
    while time.time() < end:
        st = mon.state_file(cid)
        if st["Status"] == "running" and st["Pid"] != cpid:
            break
        time.sleep(0.05)
    assert st["RestartCount"] == 1 and st["Status"] == "running"
    # `stop` creates the marker before it signals: this exit is final.
    open(os.path.join(mon.run_dir(cid), "stopped"), "w").close()
    mon.kill(cid)
    mon.wait_gone(cid, mpid)
    assert mon.exit_file(cid)["ExitCode"] == 137
    assert [e["log"] for e in mon.entries(cid)].count("run\n") == 2


def test_on_exit_command_runs_after_the_final_exit(mon, tmp_path):
    marker = tmp_path / "on-exit"
    cid, _, mpid = mon.spawn(["true"], "--", "/bin/sh", "-c", f"echo done > {marker}")
    mon.wait_gone(cid, mpid)
    assert marker.read_text() == "done\n"


def test_attach_gets_all_output_of_a_waiting_container(mon):
    cid, cpid, mpid = mon.spawn(["sh", "-c", "echo out; echo err >&2; exit 5"], "--wait-for-attach")
    assert cpid == 0  # not started before the first client
    assert not os.path.exists(mon.log(cid)) or mon.entries(cid) == []
    res = mon.attach(cid)
    assert res.returncode == 0, res.stderr
    assert res.stdout == b"out\n" and res.stderr == b"err\n"
    mon.wait_gone(cid, mpid)
    assert mon.exit_file(cid)["ExitCode"] == 5


def test_attach_stdin_reaches_cat(mon):
    cid, _, mpid = mon.spawn(["cat"], "--wait-for-attach", "--open-stdin")
    res = mon.attach(cid, "--open-stdin", input=b"hello\nworld\n")
    assert res.stdout == b"hello\nworld\n", res.stderr
    mon.wait_gone(cid, mpid)  # the client's end of input closed cat's stdin
    assert mon.exit_file(cid)["ExitCode"] == 0


def test_attach_frames_on_the_socket(mon):
    cid, _, mpid = mon.spawn(["sh", "-c", "echo one; echo two >&2"], "--wait-for-attach")
    s = _connect(mon.run_dir(cid), "attach.sock")
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    frames = []
    while data:
        stream, length = struct.unpack(">BxxxI", data[:8])
        frames.append((stream, data[8:8 + length]))
        data = data[8 + length:]
    assert (1, b"one\n") in frames and (2, b"two\n") in frames
    mon.wait_gone(cid, mpid)


def _connect(directory, name):
    """Connect past sun_path's limit, through an O_PATH fd of the socket's directory."""
    fd = os.open(directory, os.O_PATH)
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(f"/proc/self/fd/{fd}/{name}")
        return s
    finally:
        os.close(fd)


def test_tty_attach_and_resize(mon):
    cid, _, mpid = mon.spawn(["sh", "-c", "sleep 0.5; stty size; echo done"], "--wait-for-attach", "--tty",
                             terminal=True)
    s = _connect(mon.run_dir(cid), "attach.sock")
    time.sleep(0.2)
    c = _connect(mon.run_dir(cid), "ctl.sock")
    c.sendall(b"resize 33 101\n")
    assert c.recv(64) == b"ok\n"
    c.close()
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    assert b"33 101" in data and b"done" in data, data  # raw pty bytes, no frames
    mon.wait_gone(cid, mpid)
    logs = "".join(e["log"] for e in mon.entries(cid))
    assert "33 101" in logs


def test_resize_without_tty_is_refused(mon):
    cid, _, mpid = mon.spawn(["sleep", "987"])
    c = _connect(mon.run_dir(cid), "ctl.sock")
    c.sendall(b"resize 10 10\n")
    assert c.recv(64).startswith(b"err ")
    mon.kill(cid)
    mon.wait_gone(cid, mpid)


def test_log_rotation_keeps_max_files(mon):
    script = "i=0; while [ $i -lt 300 ]; do i=$((i+1)); echo line-$i; done"
    cid, _, mpid = mon.spawn(["sh", "-c", script], "--log-max-size=2000", "--log-max-files=3")
    mon.wait_gone(cid, mpid)
    log = mon.log(cid)
    assert os.path.exists(log + ".1") and os.path.exists(log + ".2")
    assert not os.path.exists(log + ".3")
    lines = []
    for p in (log + ".2", log + ".1", log):
        assert os.path.getsize(p) <= 2000
        lines += [e["log"] for e in mon.entries(cid, p)]
    n = [int(x.strip().split("-")[1]) for x in lines]
    assert n[-1] == 300 and n == list(range(n[0], 301))  # a contiguous tail, oldest file first


def test_idle_monitor_is_small_and_holds_no_foreign_fd(mon, tmp_path):
    foreign = os.open(tmp_path / "foreign", os.O_CREAT | os.O_RDWR)
    try:
        cid, cpid, mpid = mon.spawn(["sleep", "987"], pass_fds=(foreign,))
    finally:
        os.close(foreign)
    time.sleep(0.3)
    with open(f"/proc/{mpid}/status") as f:
        status = dict(line.split(":", 1) for line in f)
    rss_kb = int(status["VmRSS"].split()[0])
    anon_kb = int(status["RssAnon"].split()[0])
    with open(f"/proc/{mpid}/smaps_rollup") as f:
        pss_kb = int([line for line in f if line.startswith("Pss:")][0].split()[1])
    print(f"idle monitor: VmRSS {rss_kb} kB, RssAnon {anon_kb} kB, Pss {pss_kb} kB")
    with open(f"/proc/{mpid}/maps") as f:
        sanitized = "libasan" in f.read()
    # The target: an idle monitor under 1 MiB resident, shared library pages included.
    if not sanitized:
        assert anon_kb < 512 and pss_kb < 1024 and rss_kb < 1024
    targets = [os.readlink(f"/proc/{mpid}/fd/{fd}") for fd in os.listdir(f"/proc/{mpid}/fd")]
    assert not [t for t in targets if t.endswith("/foreign")]
    assert [os.readlink(f"/proc/{mpid}/fd/{fd}") for fd in (0, 1, 2)] == ["/dev/null"] * 3
    with open(f"/proc/{mpid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    assert int(fields[1]) != os.getpid()  # detached: not our child
    assert int(fields[3]) == mpid or int(fields[3]) != os.getsid(0)  # its own session
    mon.kill(cid)
    mon.wait_gone(cid, mpid)
    assert mon.exit_file(cid)["ExitCode"] == 137


def test_oom_kill_is_reported(mon):
    with open(mon.bundle / "config.json") as f:
        spec = json.load(f)
    spec["linux"]["resources"] = {"memory": {"limit": 16 * 1024 * 1024, "swap": 16 * 1024 * 1024}}
    with open(mon.bundle / "config.json", "w") as f:
        json.dump(spec, f)
    # tail keeps a line without a newline whole: it grows until the limit kills it.
    cid, _, mpid = mon.spawn(["sh", "-c", "head -c 200000000 /dev/zero | tail -c 100000000 >/dev/null; echo $?"])
    mon.wait_gone(cid, mpid, timeout=60)
    ex = mon.exit_file(cid)
    assert ex["OOMKilled"] is True, (ex, mon.entries(cid))


def test_exit_without_oom_is_not_oom_killed(mon):
    cid, _, mpid = mon.spawn(["sh", "-c", "exit 0"])
    mon.wait_gone(cid, mpid)
    assert mon.exit_file(cid)["OOMKilled"] is False


def test_failed_exec_after_attach_tells_the_client(mon):
    cid, cpid, mpid = mon.spawn(["no-such-program"], "--wait-for-attach", "--", "/bin/true")
    assert cpid == 0
    res = mon.attach(cid)
    assert b"executable file not found" in res.stderr and res.stdout == b""
    mon.wait_gone(cid, mpid)
    assert mon.exit_file(cid)["ExitCode"] == 127


def test_spawn_from_the_sealed_runtime_finds_it_in_path(mon):
    # `servin-runtime monitor` runs from a sealed memfd copy, which has no directory of its own.
    mon.env = {k: v for k, v in mon.env.items() if k != "SERVIN_RUNTIME_BIN"}
    mon.env["PATH"] = os.path.dirname(mon.bin) + ":" + os.environ.get("PATH", "/usr/bin:/bin")
    cid, cpid, mpid = mon.spawn(["sh", "-c", "exit 4"])
    mon.wait_gone(cid, mpid)
    assert mon.exit_file(cid)["ExitCode"] == 4
    mon.env["PATH"] = "/nonexistent"
    cid, res = mon.spawn(["true"], check=False)
    assert res.returncode == 125 and "servin-runtime was not found" in res.stderr


def test_sigterm_to_the_monitor_reaches_the_container_and_ends_restarts(mon):
    script = "trap 'echo bye; exit 9' TERM; echo ready; while true; do sleep 0.1; done"
    cid, _, mpid = mon.spawn(["sh", "-c", script], "--restart=always")
    end = time.time() + 10
    while time.time() < end and not (os.path.exists(mon.log(cid)) and mon.entries(cid)):
        time.sleep(0.05)
    os.kill(mpid, 15)
    mon.wait_gone(cid, mpid)
    assert mon.exit_file(cid)["ExitCode"] == 9
    assert [e["log"] for e in mon.entries(cid)] == ["ready\n", "bye\n"]
    assert mon.state_file(cid)["RestartCount"] == 0


def test_stopped_marker_during_the_restart_wait(mon):
    cid, _, mpid = mon.spawn(["sh", "-c", "echo run; exit 0"], "--restart=always")
    end = time.time() + 10
    seen = False
    while time.time() < end and not seen:
        try:
            seen = mon.state_file(cid)["Status"] == "restarting"
        except (FileNotFoundError, json.JSONDecodeError):
            pass
        if not seen:
            time.sleep(0.01)
    assert seen, "the state never said restarting"
    open(os.path.join(mon.run_dir(cid), "stopped"), "w").close()
    mon.wait_gone(cid, mpid)
    runs = [e["log"] for e in mon.entries(cid)].count("run\n")
    assert 1 <= runs and runs == mon.state_file(cid)["RestartCount"] + 1


def test_relative_paths_and_the_monitors_directory(mon, tmp_path):
    cid = "m" + uuid.uuid4().hex[:10]
    mon.ids.append(cid)
    mon.set_process(["sleep", "987"])
    res = subprocess.run([mon.bin, "monitor", "--spawn", f"--id={cid}", "--bundle=bundle", "--oci-root=oci",
                          f"--run-dir=run/{cid}", f"--log-path={cid}.log.json"],
                         capture_output=True, text=True, env=mon.env, cwd=tmp_path, timeout=30)
    assert res.returncode == 0, res.stderr
    _, mpid = (int(x) for x in res.stdout.split())
    mon.monitors.append(mpid)
    assert os.readlink(f"/proc/{mpid}/cwd") == "/"
    assert os.path.exists(tmp_path / "run" / cid / "monitor.pid")
    mon.kill(cid)
    end = time.time() + 10
    while _alive(mpid) and time.time() < end:
        time.sleep(0.05)
    assert not _alive(mpid)
    assert json.loads((tmp_path / "run" / cid / "exit").read_text())["ExitCode"] == 137


def test_size_asked_before_the_pty_exists_is_applied(mon):
    cid, _, mpid = mon.spawn(["sh", "-c", "stty size"], "--wait-for-attach", "--tty", terminal=True)
    c = _connect(mon.run_dir(cid), "ctl.sock")
    c.sendall(b"resize 31 101\n")
    assert c.recv(64) == b"ok\n"
    c.close()
    s = _connect(mon.run_dir(cid), "attach.sock")
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    assert data.strip() == b"31 101", data
    mon.wait_gone(cid, mpid)


def test_failed_create_reports_125_and_leaves_nothing(mon):
    with open(mon.bundle / "config.json") as f:
        spec = json.load(f)
    spec["process"]["cwd"] = "relative/not/allowed"
    with open(mon.bundle / "config.json", "w") as f:
        json.dump(spec, f)
    with open(mon.bundle / "config.json") as f:
        assert json.load(f)["process"]["cwd"] == "relative/not/allowed"
    mon.set_process = lambda args, terminal=False: None  # keep the broken spec
    cid, res = mon.spawn(["true"], check=False)
    assert res.returncode == 125, res.stderr
    assert res.stderr.startswith("servin: ") and res.stderr.count("\n") == 1
    time.sleep(0.3)
    assert not os.path.exists(os.path.join(mon.run_dir(cid), "monitor.pid"))
    assert mon.exit_file(cid)["ExitCode"] == 125


def test_bad_monitor_flags_give_one_line(mon):
    for args in (["--bogus"], ["--id"], []):
        res = subprocess.run([mon.bin, "monitor", *args], capture_output=True, text=True, timeout=10)
        assert res.returncode == 125
        assert res.stderr.startswith("servin: monitor: ") and res.stderr.count("\n") == 1, res.stderr
