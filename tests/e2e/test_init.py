"""`run --init`: tini (Debian's tini-static, bind-mounted at /sbin/docker-init as Docker does) runs as
pid 1, forwards signals to the container's process and reaps orphaned zombies.  Each behaviour is
checked against a container without --init, where it does not happen.  Fixtures come from
test_run.py."""

import os
import re
import time

import pytest

from test_run import IMAGE, bb, busybox_rootfs, short_servin  # noqa: F401

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")

# A subshell starts `sleep 1` in the background and exits: the sleep is orphaned to pid 1, and
# when it ends only pid 1 can reap it. `exec sleep 300` makes pid 1 (or the init's child) a
# process that never wait()s.
ORPHAN = "(sleep 1 &); exec sleep 300"


def zombies(s, name):
    out = s.ok("exec", name, "ps", "-o", "stat,comm").stdout
    return [l for l in out.splitlines()[1:] if l.split()[0].startswith("Z")]


def wait_status(s, name, want, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        st = s.ok("inspect", "-f", "{{.State.Status}}", name).stdout.strip()
        if st == want:
            return st
        time.sleep(0.1)
    return st


def test_init_is_pid_1_and_runs_the_command(bb):
    r = bb.ok("run", "--rm", "--init", IMAGE, "sh", "-c", "tr '\\0' ' ' < /proc/1/cmdline; echo; echo $$")
    first, pid = r.stdout.splitlines()
    assert first.startswith("/sbin/docker-init -- sh -c ")
    assert pid != "1"
    # The exit code is the process', through the init.
    assert bb("run", "--rm", "--init", IMAGE, "sh", "-c", "exit 42", check=False).returncode == 42
    [info] = bb.json("inspect", bb.ok("create", "--init", IMAGE, "true").stdout.strip())
    assert info["HostConfig"]["Init"] is True


def test_init_reaps_orphaned_zombies(bb):
    bb.ok("run", "-d", "--name", "plain", IMAGE, "sh", "-c", ORPHAN)
    bb.ok("run", "-d", "--name", "reaped", "--init", IMAGE, "sh", "-c", ORPHAN)
    time.sleep(2.5)
    # Without an init the orphan stays a zombie: the test can tell the difference.
    assert len(zombies(bb, "plain")) == 1
    assert zombies(bb, "reaped") == []


def test_init_forwards_signals(bb):
    # As pid 1 without a handler, sleep ignores SIGTERM (the kernel protects pid 1).
    bb.ok("run", "-d", "--name", "deaf", IMAGE, "sleep", "300")
    bb.ok("run", "-d", "--name", "hears", "--init", IMAGE, "sleep", "300")
    bb.ok("kill", "-s", "TERM", "deaf")
    bb.ok("kill", "-s", "TERM", "hears")
    assert wait_status(bb, "hears", "exited") == "exited"
    assert bb.ok("inspect", "-f", "{{.State.ExitCode}}", "hears").stdout.strip() == "143"
    time.sleep(0.5)
    assert bb.ok("inspect", "-f", "{{.State.Status}}", "deaf").stdout.strip() == "running"
    # A trap in the child sees the forwarded signal and its exit code comes back.
    bb.ok("run", "-d", "--name", "trap", "--init", IMAGE, "sh", "-c",
          "trap 'echo got-usr1; exit 7' USR1; echo ready; while :; do sleep 0.1; done")
    deadline = time.time() + 10
    while "ready" not in bb.ok("logs", "trap").stdout and time.time() < deadline:
        time.sleep(0.1)
    bb.ok("kill", "-s", "USR1", "trap")
    assert wait_status(bb, "trap", "exited") == "exited"
    assert bb.ok("inspect", "-f", "{{.State.ExitCode}}", "trap").stdout.strip() == "7"
    assert "got-usr1" in bb.ok("logs", "trap").stdout
    # stop ends an --init container with SIGTERM, without waiting for the SIGKILL.
    bb.ok("run", "-d", "--name", "stoppable", "--init", IMAGE, "sleep", "300")
    t0 = time.time()
    bb.ok("stop", "-t", "20", "stoppable")
    assert time.time() - t0 < 10


def test_missing_init_binary_is_one_clear_error(bb):
    r = bb.fail("run", "--rm", "--init", IMAGE, "true", env={"SERVIN_INIT_PATH": "/nonexistent/tini"})
    assert "--init" in r.stderr and "tini" in r.stderr
    assert bb.lines("ps", "-aq") == []
