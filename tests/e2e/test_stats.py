"""`servin stats`: one snapshot with --no-stream or when stdout is not a terminal, live redraws on a
terminal until Ctrl-C; values read from the container's cgroup (v1 on this machine) and its network
namespace.  Fixtures (a short store root with busybox imported) come from test_run.py."""

import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import termios
import time

import pytest

from test_run import IMAGE, bb, busybox_rootfs, short_servin  # noqa: F401

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")

HEADER = ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"]


def run_d(s, *args):
    cid = s.ok("run", "-d", *args).stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    return cid


def wait_pids(s, name, want, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = s.ok("stats", "--no-stream", "--format", "{{.PIDs}}", name).stdout.strip()
        if got == str(want):
            return got
    return got


def test_no_stream_table_shows_limits_pids_and_cpu(bb):
    cid = run_d(bb, "--name", "busy", "-m", "64m", IMAGE, "sh", "-c", "while :; do :; done")
    run_d(bb, "--name", "three", IMAGE, "sh", "-c", "sleep 300 & sleep 300 & wait")
    bb.ok("create", "--name", "never", IMAGE, "true")
    assert wait_pids(bb, "three", 3) == "3"
    t0 = time.time()
    lines = bb.lines("stats", "--no-stream")
    assert time.time() - t0 < 10
    assert re.split(r"\s{2,}", lines[0].strip()) == HEADER
    rows = {}
    for line in lines[1:]:
        cells = re.split(r"\s{2,}", line.strip())
        assert len(cells) == 8, line
        rows[cells[1]] = cells
    # Only running containers without -a.
    assert set(rows) == {"busy", "three"}
    busy = rows["busy"]
    assert busy[0] == cid[:12]
    assert busy[3].endswith(" / 64MiB"), busy
    assert re.fullmatch(r"\d+(\.\d+)?(B|KiB|MiB) / 64MiB", busy[3]), busy
    # A busy loop uses CPU even on a loaded machine; the rate needs two samples, so this checks them.
    assert float(busy[2].rstrip("%")) > 1.0, busy
    assert busy[7] == "1"
    assert rows["three"][7] == "3"
    assert float(rows["three"][2].rstrip("%")) < 50.0
    # The memory percentage is the usage over the 64 MiB limit.
    used = busy[3].split(" / ")[0]
    num, unit = re.fullmatch(r"([\d.]+)(\w+)", used).groups()
    scale = {"B": 1, "KiB": 1024, "MiB": 1024 ** 2}[unit]
    assert abs(float(num) * scale / (64 * 1024 ** 2) * 100 - float(busy[4].rstrip("%"))) < 0.5


def test_all_json_template_and_no_trunc(bb):
    cid = run_d(bb, "--name", "up", IMAGE, "sleep", "300")
    bb.ok("run", "--name", "done", IMAGE, "true")
    rows = [json.loads(l) for l in bb.lines("stats", "--no-stream", "-a", "--format", "json")]
    by_name = {r["Name"]: r for r in rows}
    assert set(by_name) == {"up", "done"}
    assert set(by_name["up"]) == {"Container", "Name", "ID", "CPUPerc", "MemUsage", "MemPerc", "NetIO", "BlockIO",
                                  "PIDs"}
    assert by_name["up"]["ID"] == cid[:12] and by_name["up"]["PIDs"] == "1"
    # A stopped container shows zeros, as in Docker.
    done = by_name["done"]
    assert (done["CPUPerc"], done["MemUsage"], done["NetIO"], done["BlockIO"], done["PIDs"]) == (
        "0.00%", "0B / 0B", "0B / 0B", "0B / 0B", "0")
    out = bb.ok("stats", "--no-stream", "--no-trunc", "--format", "{{.ID}} {{.Container}} {{.Name}}", "up").stdout
    assert out == "%s up up\n" % cid
    out = bb.ok("container", "stats", "--no-stream", "--format", "{{.Container}}|{{.PIDs}}", cid[:8]).stdout
    assert out == cid[:8] + "|1\n"
    out = bb.ok("containers", "stats", "--no-stream", "--format", "table {{.Name}}\t{{.PIDs}}", "up").stdout
    assert re.split(r"\s{2,}", out.splitlines()[0].strip()) == ["NAME", "PIDS"]
    assert re.split(r"\s{2,}", out.splitlines()[1].strip()) == ["up", "1"]


def test_memory_use_grows_with_the_container(bb):
    run_d(bb, "--name", "mem", IMAGE, "sh", "-c",
          "dd if=/dev/zero of=/dev/shm/fill bs=1M count=40; sleep 300")

    def used():
        text = bb.ok("stats", "--no-stream", "--format", "{{.MemUsage}}", "mem").stdout.split(" / ")[0]
        num, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()
        return float(num) * {"B": 1, "KiB": 1024, "MiB": 1024 ** 2, "GiB": 1024 ** 3}[unit]
    deadline = time.time() + 15
    while used() < 30 * 1024 ** 2 and time.time() < deadline:
        time.sleep(0.2)
    # 40 MiB written to the container's /dev/shm (tmpfs) are charged to its memory cgroup.
    assert used() >= 30 * 1024 ** 2


def test_without_a_terminal_it_prints_one_snapshot_and_exits(bb):
    run_d(bb, "--name", "one", IMAGE, "sleep", "300")
    r = bb.ok("stats", "one", timeout=20)
    lines = r.stdout.splitlines()
    assert len(lines) == 2 and lines[1].split()[1] == "one"
    assert "\033[2J" not in r.stdout


def test_live_on_a_terminal_redraws_until_ctrl_c(bb):
    run_d(bb, "--name", "live", IMAGE, "sleep", "300")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
    p = subprocess.Popen(bb.argv(["stats", "live"]), stdin=slave, stdout=slave, stderr=slave, env=bb.env,
                         start_new_session=True)
    os.close(slave)
    out = b""
    try:
        deadline = time.time() + 20
        while out.count(b"\033[2J") < 3 and time.time() < deadline:
            r, _, _ = select.select([master], [], [], 0.2)
            if r:
                out += os.read(master, 65536)
        assert out.count(b"\033[2J") >= 3, out
        assert p.poll() is None, "live stats ended by itself"
        os.kill(p.pid, signal.SIGINT)
        assert p.wait(timeout=10) == 0
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        os.close(master)
    frames = [f for f in out.split(b"\033[2J\033[H") if f.strip()]
    # The last frame may have been cut by the end of the read: every earlier one is whole.
    assert len(frames) >= 2 and all(b"CONTAINER ID" in f and b"live" in f for f in frames[:-1]), frames
    assert b"CONTAINER ID" in frames[-1], frames


def test_unknown_container_and_bad_template_are_one_error_line(bb):
    run_d(bb, "--name", "fmt", IMAGE, "sleep", "300")
    r = bb.fail("stats", "--no-stream", "nosuch")
    assert "No such container: nosuch" in r.stderr
    r = bb.fail("stats", "--no-stream", "--format", "{{.Name", "fmt")
    assert "template" in r.stderr
