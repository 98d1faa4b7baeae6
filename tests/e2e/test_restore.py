"""`servin system restore` after killed monitors and after a (simulated) reboot: lost containers
are exited, "always" and "unless-stopped" (unless the user stopped them) come back, --rm ones go.
Fixtures come from test_run.py."""

import os
import shutil
import signal
import subprocess
import time

import pytest

from test_run import IMAGE, bb, busybox_rootfs, cgroups_named, mounts_under, short_servin  # noqa: F401

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def wait_for(pred, timeout=20, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def state(servin, name):
    return servin.ok("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name).stdout.split()


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def start_set(bb):
    """Containers with every policy that matters; "stopped" is stopped by the user."""
    for name, policy in (("always", "always"), ("unless", "unless-stopped"), ("stopped", "unless-stopped"),
                         ("plain", "no"), ("onfail", "on-failure")):
        bb.ok("run", "-d", "--name", name, "--restart", policy, IMAGE, "sleep", "600")
    bb.ok("run", "-d", "--name", "autorm", "--rm", IMAGE, "sleep", "600")
    bb.ok("stop", "-t", "0", "stopped")
    assert state(bb, "stopped")[0] == "exited"


def crash(bb, reboot):
    """Kill every monitor and container process of this store at once, as a power cut would; with
    reboot also lose what a reboot loses: the run dir (tmpfs) and the root filesystem mounts."""
    run = os.path.join(bb.root, "run", "containers")
    victims = []
    for cid in os.listdir(run):
        try:
            with open(os.path.join(run, cid, "monitor.pid")) as f:
                victims.append(int(f.read()))
        except OSError:
            pass
    for cid in bb.lines("ps", "-q", "--no-trunc"):
        victims.append(int(bb.ok("inspect", "--format", "{{.State.Pid}}", cid).stdout))
    assert len(victims) >= 10
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not any(alive(p) for p in victims))
    if reboot:
        cids = os.listdir(run)
        for line in mounts_under(bb.root):
            subprocess.run(["umount", "-l", line.split()[4]], check=False)
        shutil.rmtree(os.path.join(bb.root, "run"))
        # The kernel's cgroups went with the reboot; the emptied ones here are ours to remove.
        for cid in cids:
            for d in sorted(cgroups_named(cid), key=len, reverse=True):
                try:
                    os.rmdir(d)
                except OSError:
                    pass


@pytest.mark.parametrize("reboot", [False, True], ids=["killed-monitors", "reboot"])
def test_restore_after_crash(bb, reboot):
    start_set(bb)
    crash(bb, reboot)
    # Reading already tells the truth: everything that ran is exited, lost ones with 255.
    for name in ("always", "unless", "plain", "onfail"):
        assert state(bb, name) == ["exited", "255"], name
    assert state(bb, "stopped")[0] == "exited"

    out = bb.lines("system", "restore")
    assert sorted(out) == ["always", "unless"]
    for name in ("always", "unless"):
        assert state(bb, name) == ["running", "0"]
        assert bb.ok("exec", name, "echo", "back").stdout == "back\n"
    for name in ("stopped", "plain", "onfail"):
        assert state(bb, name)[0] == "exited", name
    assert "autorm" not in bb.ok("ps", "-a", "--format", "{{.Names}}").stdout
    # A second restore finds nothing to do.
    assert bb.lines("system", "restore", check=False) == []
    # The restarted ones are supervised again: a stop is final for unless-stopped.
    bb.ok("stop", "-t", "0", "unless")
    assert state(bb, "unless")[0] == "exited"


def test_user_stop_of_always_is_restarted_but_start_clears_the_mark(bb):
    bb.ok("run", "-d", "--name", "al", "--restart", "always", IMAGE, "sleep", "600")
    bb.ok("run", "-d", "--name", "un", "--restart", "unless-stopped", IMAGE, "sleep", "600")
    bb.ok("stop", "-t", "0", "al")
    bb.ok("stop", "-t", "0", "un")
    # Docker: "always" comes back at the next restore even after a stop; "unless-stopped" not.
    assert bb.lines("system", "restore") == ["al"]
    assert state(bb, "un")[0] == "exited"
    # A start by the user clears the stop: after a crash it comes back.
    bb.ok("start", "un")
    crash_one = int(bb.ok("inspect", "--format", "{{.State.Pid}}", "un").stdout)
    mpid = int(open(os.path.join(bb.root, "run", "containers",
                                 bb.ok("inspect", "--format", "{{.Id}}", "un").stdout.strip(), "monitor.pid")).read())
    os.kill(mpid, signal.SIGKILL)
    os.kill(crash_one, signal.SIGKILL)
    assert wait_for(lambda: not alive(mpid) and not alive(crash_one))
    assert "un" in bb.lines("system", "restore")
    assert state(bb, "un")[0] == "running"


def test_restore_refuses_arguments(bb):
    r = bb.fail("system", "restore", "extra")
    assert "accepts no arguments" in r.stderr


def test_systemd_unit_runs_restore():
    unit = os.path.join(REPO, "contrib", "systemd", "servin-restore.service")
    with open(unit) as f:
        text = f.read()
    assert "ExecStart=/usr/local/bin/servin system restore" in text
    assert "WantedBy=multi-user.target" in text
    if shutil.which("systemd-analyze"):
        r = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True)
        # The binary need not be installed on the test machine; everything else must parse.
        problems = [l for l in r.stderr.splitlines() if l.strip() and "is not executable" not in l]
        assert not problems, r.stderr
