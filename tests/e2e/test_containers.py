"""The lifecycle of existing containers: ps, inspect, logs, exec, top, stop/kill/restart, pause,
rm, rename, wait, prune, restart policies, containers outliving the CLI and their monitor, and many
containers started at once.  Fixtures (a short store root with busybox imported) come from
test_run.py."""

import json
import os
import re
import signal
import sqlite3
import subprocess
import time

import pytest

from test_run import IMAGE, bb, busybox_rootfs, cgroups_named, mounts_under, short_servin  # noqa: F401

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")


def wait_for(pred, timeout=15, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def status(s, name):
    return s.ok("inspect", "-f", "{{.State.Status}}", name).stdout.strip()


def container_stderr(text):
    """The container's stderr without the runtime's warning about clamping RLIMIT_NOFILE, which the
    container's init prints before it executes the process (a runtime matter, not the log's)."""
    return "".join(l for l in text.splitlines(True) if not l.startswith("servin warn: rlimit"))


def run_d(s, *args):
    cid = s.ok("run", "-d", *args).stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    return cid


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


# ---------------------------------------------------------------- ps, inspect


def test_ps_lists_running_by_default_and_all_with_a(bb):
    run_d(bb, "--name", "up", IMAGE, "sleep", "60")
    bb("run", "--name", "done", IMAGE, "sh", "-c", "exit 2", check=False)
    bb.ok("create", "--name", "fresh", IMAGE, "true")
    names = bb.lines("ps", "--format", "{{.Names}}")
    assert names == ["up"]
    rows = {l.split("|")[0]: l.split("|")[1] for l in bb.lines("ps", "-a", "--format", "{{.Names}}|{{.Status}}")}
    assert rows["up"].startswith("Up ")
    assert re.fullmatch(r"Exited \(2\) .*ago", rows["done"]), rows
    assert rows["fresh"] == "Created"
    assert bb.lines("ps", "-a", "-n", "1", "--format", "{{.Names}}") == ["fresh"]
    assert bb.lines("ps", "-l", "--format", "{{.Names}}") == ["fresh"]
    assert len(bb.lines("ps", "-aq")[0]) == 12
    assert len(bb.lines("ps", "-aq", "--no-trunc")[0]) == 64


def test_ps_filters(bb):
    run_d(bb, "--name", "alpha", "-l", "tier=web", IMAGE, "sleep", "60")
    bb("run", "--name", "beta", "-l", "tier=db", IMAGE, "sh", "-c", "exit 3", check=False)
    bb.ok("run", "--name", "gamma", IMAGE, "true")

    def names(*filters):
        args = ["ps", "-a", "--format", "{{.Names}}"]
        for f in filters:
            args += ["--filter", f]
        return sorted(bb.lines(*args))
    assert names("status=running") == ["alpha"]
    assert names("status=exited") == ["beta", "gamma"]
    assert names("exited=3") == ["beta"]
    assert names("name=alp") == ["alpha"]
    assert names("label=tier") == ["alpha", "beta"]
    assert names("label=tier=db") == ["beta"]
    assert names("ancestor=" + IMAGE) == ["alpha", "beta", "gamma"]
    assert names("status=exited", "name=gam") == ["gamma"]
    assert names("name=alpha", "name=beta") == ["alpha", "beta"]
    bb.fail("ps", "--filter", "colour=red")


def test_ps_json_format(bb):
    cid = run_d(bb, "--name", "jj", IMAGE, "sleep", "60")
    [line] = bb.lines("ps", "--format", "json")
    row = json.loads(line)
    assert row["ID"] == cid[:12] and row["Names"] == "jj" and row["State"] == "running"
    assert row["Command"] == '"sleep 60"' and row["Image"] == IMAGE


def test_inspect_is_docker_shaped(bb):
    cid = run_d(bb, "--name", "insp", "-e", "X=1", "--restart", "on-failure:3", IMAGE, "sleep", "60")
    [info] = bb.json("inspect", "insp")
    assert info["Id"] == cid
    assert info["Name"] == "/insp"
    assert info["Path"] == "sleep" and info["Args"] == ["60"]
    st = info["State"]
    assert st["Status"] == "running" and st["Running"] is True and st["Paused"] is False
    assert st["Pid"] > 0 and pid_alive(st["Pid"])
    assert st["StartedAt"].endswith("Z") and st["FinishedAt"] == "0001-01-01T00:00:00Z"
    assert info["Image"].startswith("sha256:")
    assert info["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert "X=1" in info["Config"]["Env"]
    assert info["Config"]["Hostname"] == cid[:12]
    assert info["RestartCount"] == 0 and info["Mounts"] == []
    assert info["LogPath"].endswith("/log.json")
    assert bb.ok("inspect", "-f", "{{.State.Status}}", cid[:10]).stdout == "running\n"
    assert bb.ok("container", "inspect", "--format", "{{.Config.Image}}", "insp").stdout == IMAGE + "\n"


def test_inspect_falls_back_to_images_and_reports_missing(bb):
    [img] = bb.json("inspect", IMAGE)
    assert img["Id"].startswith("sha256:") and IMAGE in img["RepoTags"]
    r = bb.fail("container", "inspect", "nope")
    assert "No such container: nope" in r.stderr


# ---------------------------------------------------------------- logs


def test_logs_streams_and_tail(bb):
    # Pauses between the writes: stdout and stderr are two pipes, read in whichever order they come.
    bb.ok("run", "--name", "talk", IMAGE, "sh", "-c", "echo one; sleep 0.2; echo two >&2; sleep 0.2; echo three")
    r = bb.ok("logs", "talk")
    assert r.stdout == "one\nthree\n"
    assert container_stderr(r.stderr) == "two\n"
    r = bb.ok("logs", "--tail", "1", "talk")
    assert r.stdout == "three\n" and container_stderr(r.stderr) == ""
    r = bb.ok("logs", "-t", "talk")
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z one\n", r.stdout), r.stdout
    assert bb.ok("logs", "--since", "1h", "talk").stdout == "one\nthree\n"
    assert bb.ok("logs", "--until", "1h", "talk").stdout == ""
    assert bb.ok("logs", "--since", "2000-01-01T00:00:00Z", "talk").stdout == "one\nthree\n"
    bb.fail("logs", "--since", "yesterday-ish", "talk")


def test_logs_of_a_detached_container(bb):
    run_d(bb, "--name", "bg", IMAGE, "sh", "-c", "echo started; sleep 60")
    assert wait_for(lambda: bb.ok("logs", "bg").stdout == "started\n")


def test_logs_follow_sees_new_lines_and_ends_with_the_container(bb):
    run_d(bb, "--name", "ticker", IMAGE, "sh", "-c",
          "for i in 1 2 3 4 5; do echo tick $i; sleep 0.3; done")
    p = bb.popen("logs", "-f", "ticker")
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    assert out.decode().splitlines() == ["tick %d" % i for i in range(1, 6)]


# ---------------------------------------------------------------- exec, top, attach


def test_exec_shares_the_pid_namespace(bb):
    run_d(bb, "--name", "host", IMAGE, "sleep", "60")
    r = bb.ok("exec", "host", "cat", "/proc/1/cmdline")
    assert r.stdout.split("\0")[:2] == ["sleep", "60"]
    r = bb.ok("exec", "host", "sh", "-c", "echo $$")
    assert int(r.stdout) > 1


def test_exec_exit_code_env_user_workdir(bb):
    run_d(bb, "--name", "xx", IMAGE, "sleep", "60")
    assert bb("exec", "xx", "sh", "-c", "exit 7", check=False).returncode == 7
    r = bb.ok("exec", "-e", "E=v", "-u", "nobody", "-w", "/tmp", "xx", "sh", "-c", 'echo "$E $(id -un) $(pwd)"')
    assert r.stdout.strip() == "v nobody /tmp"
    r = bb.ok("exec", "-i", "xx", "cat", input="piped\n")
    assert r.stdout == "piped\n"
    bb.fail("exec", "xx", "no-such-binary", code=127)


def test_exec_refuses_a_stopped_container(bb):
    bb.ok("run", "--name", "over", IMAGE, "true")
    r = bb.fail("exec", "over", "true")
    assert "is not running" in r.stderr


def test_top_lists_the_processes(bb):
    run_d(bb, "--name", "busy", IMAGE, "sh", "-c", "sleep 61 & sleep 62")
    def rows():
        lines = bb.lines("top", "busy")
        return lines if len(lines) >= 3 else None
    lines = wait_for(rows)
    assert lines[0].split() == ["PID", "USER", "TIME", "CMD"]
    body = "\n".join(lines[1:])
    assert "sleep 61" in body and "sleep 62" in body


def test_attach_receives_the_output(bb):
    run_d(bb, "--name", "att", IMAGE, "sh", "-c", "sleep 1; echo attached-out; exit 4")
    r = bb("attach", "att", check=False, timeout=30)
    assert r.returncode == 4
    assert "attached-out" in r.stdout


# ---------------------------------------------------------------- stop, kill, restart, pause


def test_stop_escalates_to_sigkill(bb):
    run_d(bb, "--name", "stubborn", IMAGE, "sh", "-c", "trap '' TERM; while true; do sleep 0.1; done")
    t0 = time.time()
    assert bb.ok("stop", "-t", "1", "stubborn").stdout == "stubborn\n"
    assert time.time() - t0 < 8
    assert bb.ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "stubborn").stdout == "exited 137\n"
    assert bb.ok("wait", "stubborn").stdout == "137\n"


def test_stop_uses_the_stop_signal(bb):
    run_d(bb, "--name", "usr1", "--stop-signal", "USR1", IMAGE, "sh", "-c",
          "trap 'exit 9' USR1; while true; do sleep 0.1; done")
    bb.ok("stop", "usr1")
    assert bb.ok("inspect", "-f", "{{.State.ExitCode}}", "usr1").stdout == "9\n"


def test_kill_with_a_signal_and_no_restart(bb):
    run_d(bb, "--name", "kk", "--restart", "always", IMAGE, "sh", "-c",
          "trap 'exit 0' TERM; while true; do sleep 0.1; done")
    assert bb.ok("kill", "-s", "TERM", "kk").stdout == "kk\n"
    assert wait_for(lambda: status(bb, "kk") == "exited")
    time.sleep(1)
    assert status(bb, "kk") == "exited"
    r = bb.fail("kill", "kk")
    assert "is not running" in r.stderr


def test_restart_gives_a_new_process(bb):
    run_d(bb, "--name", "again", IMAGE, "sleep", "60")
    pid1 = int(bb.ok("inspect", "-f", "{{.State.Pid}}", "again").stdout)
    assert bb.ok("restart", "-t", "1", "again").stdout == "again\n"
    pid2 = int(bb.ok("inspect", "-f", "{{.State.Pid}}", "again").stdout)
    assert pid2 != pid1 and pid_alive(pid2) and not pid_alive(pid1)
    assert status(bb, "again") == "running"


def test_pause_and_unpause(bb):
    run_d(bb, "--name", "pp", IMAGE, "sleep", "60")
    assert bb.ok("pause", "pp").stdout == "pp\n"
    assert status(bb, "pp") == "paused"
    [row] = bb.lines("ps", "--format", "{{.Status}}")
    assert row.endswith("(Paused)")
    bb.fail("exec", "pp", "true")
    assert bb.ok("unpause", "pp").stdout == "pp\n"
    assert status(bb, "pp") == "running"
    bb.ok("exec", "pp", "true")
    bb.fail("unpause", "pp")


def test_restart_policy_on_failure_restarts_exactly_twice(bb):
    run_d(bb, "--name", "flaky", "--restart", "on-failure:2", IMAGE, "sh", "-c", "exit 1")
    assert wait_for(lambda: status(bb, "flaky") == "exited" and
                    bb.ok("inspect", "-f", "{{.RestartCount}}", "flaky").stdout.strip() == "2", timeout=30)
    time.sleep(2)
    assert bb.ok("inspect", "-f", "{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}",
                 "flaky").stdout == "2 exited 1\n"


# ---------------------------------------------------------------- rm, rename, wait, prune


def test_rm_refuses_a_running_container(bb):
    run_d(bb, "--name", "busy", IMAGE, "sleep", "60")
    r = bb("rm", "busy", check=False)
    assert r.returncode != 0
    assert 'cannot remove container "/busy": container is running: stop the container before removing or ' \
           'force remove' in r.stderr
    assert status(bb, "busy") == "running"


def test_rm_f_of_a_running_container_leaves_nothing(bb):
    cid = run_d(bb, "--name", "doomed", IMAGE, "sleep", "60")
    pid = int(bb.ok("inspect", "-f", "{{.State.Pid}}", "doomed").stdout)
    with open(os.path.join(bb.root, "run", "containers", cid, "monitor.pid")) as f:
        mpid = int(f.read())
    assert bb.ok("rm", "-f", "doomed").stdout == "doomed\n"
    assert bb.lines("ps", "-aq") == []
    assert not pid_alive(pid)
    assert wait_for(lambda: not pid_alive(mpid)), "the monitor outlived rm -f"
    assert not mounts_under(bb.root)
    assert wait_for(lambda: cgroups_named(cid) == [])
    assert not os.path.exists(os.path.join(bb.root, "containers", cid))
    bb.fail("inspect", "--type", "container", "doomed")


def test_rename(bb):
    bb.ok("create", "--name", "old", IMAGE, "true")
    bb.ok("create", "--name", "other", IMAGE, "true")
    bb.ok("rename", "old", "new")
    assert sorted(bb.lines("ps", "-a", "--format", "{{.Names}}")) == ["new", "other"]
    bb.fail("rename", "new", "other")
    bb.fail("rename", "missing", "xx")


def test_wait_prints_exit_codes(bb):
    run_d(bb, "--name", "w1", IMAGE, "sh", "-c", "sleep 0.5; exit 5")
    run_d(bb, "--name", "w2", IMAGE, "true")
    assert bb.lines("wait", "w1", "w2") == ["5", "0"]


def test_container_prune(bb):
    keep = run_d(bb, "--name", "keep", IMAGE, "sleep", "60")
    bb.ok("run", "--name", "gone1", IMAGE, "true")
    bb.ok("create", "--name", "gone2", IMAGE, "true")
    out = bb.ok("container", "prune", "-f").stdout
    assert out.startswith("Deleted Containers:\n")
    assert bb.lines("ps", "-aq", "--no-trunc") == [keep]


# ---------------------------------------------------------------- survival, consistency, scale


def test_container_survives_the_cli_that_started_it(bb):
    cid = run_d(bb, "--name", "survivor", IMAGE, "sleep", "60")
    # `run -d` has exited: the container still runs, under its monitor.
    pid = int(bb.ok("inspect", "-f", "{{.State.Pid}}", "survivor").stdout)
    assert pid_alive(pid)
    time.sleep(1)
    assert pid_alive(pid) and status(bb, "survivor") == "running"
    with open(os.path.join(bb.root, "run", "containers", cid, "monitor.pid")) as f:
        mpid = int(f.read())
    assert pid_alive(mpid)


def test_killed_monitor_shows_exited_and_store_stays_consistent(bb):
    cid = run_d(bb, "--name", "orphan", IMAGE, "sh", "-c", "sleep 2")
    with open(os.path.join(bb.root, "run", "containers", cid, "monitor.pid")) as f:
        mpid = int(f.read())
    os.kill(mpid, signal.SIGKILL)
    assert wait_for(lambda: status(bb, "orphan") == "exited", timeout=20)
    [row] = bb.lines("ps", "-a", "--format", "{{.Names}} {{.State}}")
    assert row == "orphan exited"
    # Nobody ran the monitor's cleanup: the listing released the mount and the cgroup instead.
    assert not mounts_under(bb.root)
    assert cgroups_named(cid) == []
    assert not os.path.exists(os.path.join(bb.root, "run", "oci", cid))
    db = sqlite3.connect(os.path.join(bb.root, "servin.db"))
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        db.close()
    bb.ok("rm", "orphan")


def test_group_help_lists_container_commands(bb):
    out = bb.ok("container").stdout
    for verb in ("run", "ls", "stop", "rm", "logs", "exec", "prune"):
        assert re.search(r"^\s+%s\s" % verb, out, re.M), out
    assert bb.ok("containers", "ls", "-a").stdout.startswith("CONTAINER ID")


def test_many_parallel_runs_come_up_with_distinct_names(bb):
    n = 50  # the number; about 10 s on two cores
    procs = [bb.popen("run", "-d", IMAGE, "sleep", "120") for _ in range(n)]
    ids = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        ids.append(out.decode().strip())
    assert len(set(ids)) == n
    rows = bb.lines("ps", "--format", "{{.Names}} {{.State}}")
    assert len(rows) == n
    names = [r.split()[0] for r in rows]
    assert len(set(names)) == n
    assert all(r.split()[1] == "running" for r in rows)


def test_exec_with_a_tty(bb):
    from test_run import _run_on_pty
    run_d(bb, "--name", "ttyexec", IMAGE, "sleep", "60")
    code, out = _run_on_pty(bb, ["exec", "-it", "ttyexec", "sh"], b"echo in-$((6*7)) $(tty); exit 6\r")
    assert code == 6, out
    assert b"in-42 /dev/pts/" in out, out


def test_rmi_refuses_an_image_a_container_uses(bb):
    image_id = bb.ok("image", "inspect", "-f", "{{.Id}}", IMAGE).stdout.strip()
    bb.ok("create", "--name", "user", IMAGE, "true")
    bb.fail("rmi", image_id)
    assert image_id in bb.lines("images", "-q", "--no-trunc")
    bb.ok("rm", "user")
    bb.ok("rmi", image_id)
    assert image_id not in bb.lines("images", "-aq", "--no-trunc")


def test_log_rotation_from_run_flags(bb):
    bb.ok("run", "--name", "chatty", "--log-opt", "max-size=2k", "--log-opt", "max-file=2", IMAGE, "sh", "-c",
          "i=0; while [ $i -lt 200 ]; do echo line-$i-padding-padding-padding; i=$((i+1)); done")
    cid = bb.ok("inspect", "-f", "{{.Id}}", "chatty").stdout.strip()
    d = os.path.join(bb.root, "containers", cid)
    logs = sorted(f for f in os.listdir(d) if f.startswith("log.json"))
    assert logs == ["log.json", "log.json.1"], logs
    assert os.path.getsize(os.path.join(d, "log.json")) <= 2048 + 200
    out = bb.lines("logs", "chatty")
    assert out[-1] == "line-199-padding-padding-padding"
    nums = [int(l.split("-")[1]) for l in out]
    assert nums == list(range(nums[0], 200))  # the oldest lines rotated away, the rest in order


def test_ps_table_columns_line_up_after_a_truncated_command(bb):
    run_d(bb, "--name", "longcmd", IMAGE, "sh", "-c", "sleep 60; echo a command longer than twenty")
    header, row = bb.ok("ps").stdout.splitlines()
    assert '"sh -c sleep 60; ech\u2026"' in row
    assert row.index("Up ") == header.index("STATUS")
    assert row.index("longcmd") == header.index("NAMES")


def test_ps_table_template_aligns_columns(bb):
    bb.ok("create", "--name", "a-rather-long-name", IMAGE, "true")
    bb.ok("create", "--name", "short", IMAGE, "true")
    lines = bb.ok("ps", "-a", "--format", "table {{.Names}}\t{{.Status}}").stdout.splitlines()
    assert lines[0].split() == ["NAMES", "STATUS"]
    assert {l.index("Created") for l in lines[1:]} == {lines[0].index("STATUS")}
