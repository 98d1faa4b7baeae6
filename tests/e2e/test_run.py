"""`servin run` / `create` / `start`, Docker's way: exit codes, output, flags, --rm, errors that leave
nothing behind, pulling a missing image, signals to a foreground run.

Images come from `servin import` of scripts/make-busybox-rootfs (fast, no registry) except where the
test is about pulling.  The `bb` fixture checks afterwards that no mount or process of the test's
store is left on the host.
"""

import io
import json
import os
import re
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time

import pytest

from conftest import Servin

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")
IMAGE = "localhost/bb:latest"


@pytest.fixture(scope="session")
def busybox_rootfs(tmp_path_factory):
    path = tmp_path_factory.mktemp("bb-rootfs") / "rootfs.tar"
    subprocess.run([os.path.join(REPO, "scripts", "make-busybox-rootfs"), str(path)], check=True)
    return path


def mounts_under(root):
    with open("/proc/self/mountinfo") as f:
        return [l for l in f if root in l]


def processes_using(root):
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                args = f.read()
            with open("/proc/%s/stat" % pid) as f:
                zombie = f.read().rsplit(")", 1)[1].split()[0] == "Z"
        except OSError:
            continue
        if not zombie and root.encode() in args:
            found.append(int(pid))
    return found


def cgroups_named(cid):
    out = subprocess.run(["find", "/sys/fs/cgroup", "-maxdepth", "6", "-type", "d", "-name", "*%s*" % cid],
                         capture_output=True, text=True).stdout
    return out.split()


@pytest.fixture
def short_servin(servin_bin):
    """A runner whose root has a short path: the runtime's sockets live under
    <root>/run/oci/<64-hex id>/ and a unix socket path must stay under 108 bytes."""
    tmp = tempfile.mkdtemp(prefix="sv-", dir="/tmp")
    yield Servin(tmp)
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def bb(short_servin, busybox_rootfs):
    """The runner with busybox imported as localhost/bb:latest (CMD sh)."""
    servin = short_servin
    servin.ok("import", "-c", 'CMD ["sh"]', str(busybox_rootfs), IMAGE)
    yield servin
    ids = servin.lines("ps", "-aq", "--no-trunc", check=False) if os.path.exists(servin.root) else []
    for cid in ids:
        servin("rm", "-f", cid, check=False)
    # Give the monitors' on-exit commands a moment, then nothing may remain.
    deadline = time.time() + 10
    while mounts_under(servin.root) and time.time() < deadline:
        time.sleep(0.1)
    assert not mounts_under(servin.root), "mounts left behind"
    # Monitors finishing up and their on-exit commands go before the store does.
    deadline = time.time() + 10
    while processes_using(servin.root) and time.time() < deadline:
        time.sleep(0.1)
    assert not processes_using(servin.root), "processes left behind"


def test_run_echo_prints_and_exits_0(bb):
    r = bb.ok("run", IMAGE, "echo", "hello", "world")
    assert r.stdout == "hello world\n"


def test_run_returns_the_container_exit_code(bb):
    r = bb("run", IMAGE, "sh", "-c", "exit 3", check=False)
    assert r.returncode == 3, r.stderr


def test_run_separates_stdout_and_stderr(bb):
    r = bb.ok("run", IMAGE, "sh", "-c", "echo out; echo err >&2")
    assert r.stdout == "out\n"
    assert "err\n" in r.stderr


def test_command_not_found_is_127_with_one_error_line(bb):
    r = bb.fail("run", IMAGE, "no-such-command", code=127)
    assert "no-such-command" in r.stderr


def test_run_uses_the_image_cmd(bb):
    r = bb.ok("run", "-i", IMAGE, input="echo from-stdin-sh\n")
    assert r.stdout == "from-stdin-sh\n"


def test_interactive_stdin_reaches_the_container(bb):
    r = bb.ok("run", "-i", IMAGE, "cat", input="line one\nline two\n")
    assert r.stdout == "line one\nline two\n"


def test_without_i_stdin_is_empty(bb):
    r = bb.ok("run", IMAGE, "cat", input="should not arrive\n")
    assert r.stdout == ""


def test_flags_reach_the_process(bb, tmp_path):
    envfile = tmp_path / "env"
    envfile.write_text("# comment\nFROM_FILE=yes\n\n")
    r = bb.ok("run", "-e", "A=1", "--env", "B=two words", "--env-file", str(envfile), "-w", "/tmp",
              "-u", "65534:65534", "--hostname", "myhost", IMAGE,
              "sh", "-c", 'echo "$A|$B|$FROM_FILE|$(pwd)|$(id -u):$(id -g)|$(hostname)"')
    assert r.stdout.strip() == "1|two words|yes|/tmp|65534:65534|myhost"


def test_user_by_name_and_entrypoint(bb):
    r = bb.ok("run", "-u", "nobody", "--entrypoint", "id", IMAGE, "-un")
    assert r.stdout.strip() == "nobody"


def test_read_only_rootfs(bb):
    r = bb("run", "--read-only", IMAGE, "touch", "/x", check=False)
    assert r.returncode != 0
    assert "Read-only" in r.stderr or "read-only" in r.stderr.lower()


def test_memory_limit_is_applied(bb):
    r = bb.ok("run", "--memory", "64m", IMAGE, "sh", "-c",
              "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes")
    assert r.stdout.strip() == str(64 * 1024 * 1024)
    [info] = bb.json("container", "inspect", bb.lines("ps", "-lq")[0])
    assert info["HostConfig"]["Memory"] == 64 * 1024 * 1024


def test_run_rm_leaves_no_container_mount_or_cgroup(bb):
    r = bb.ok("run", "--rm", "--name", "gone", IMAGE, "echo", "bye")
    assert r.stdout == "bye\n"
    assert bb.lines("ps", "-aq") == []
    assert not mounts_under(bb.root)
    assert not os.listdir(os.path.join(bb.root, "containers")) if os.path.isdir(
        os.path.join(bb.root, "containers")) else True


def test_run_rm_keeps_the_exit_code(bb):
    r = bb("run", "--rm", IMAGE, "sh", "-c", "exit 42", check=False)
    assert r.returncode == 42
    assert bb.lines("ps", "-aq") == []


def test_run_rm_journals_die_then_destroy(bb):
    # The foreground CLI cleans up and removes the container itself (the monitor skips its
    # cleanup command while the CLI lives): the die event must still be recorded, before destroy.
    bb.ok("run", "--rm", "--name", "journaled", IMAGE, "true")
    with open(os.path.join(bb.root, "events.jsonl")) as f:
        actions = [json.loads(l)["Action"] for l in f
                   if json.loads(l).get("Actor", {}).get("Attributes", {}).get("name") == "journaled"]
    assert "die" in actions and "destroy" in actions, actions
    assert actions.index("die") < actions.index("destroy"), actions


def test_run_rm_overlay_is_volatile_only_for_removed_containers(bb):
    # An --rm container's changes are thrown away: its overlay skips syncs (no filesystem-wide
    # sync at unmount); a kept container's overlay syncs as usual.
    r = bb.ok("run", "--rm", IMAGE, "cat", "/proc/self/mountinfo")
    root_line = [l for l in r.stdout.splitlines() if l.split()[4] == "/"][0]
    assert "volatile" in root_line, root_line
    r = bb.ok("run", "--name", "kept", IMAGE, "cat", "/proc/self/mountinfo")
    root_line = [l for l in r.stdout.splitlines() if l.split()[4] == "/"][0]
    assert "volatile" not in root_line, root_line
    bb.ok("rm", "kept")


def test_run_rm_whose_cli_is_killed_is_removed_by_its_monitor(bb):
    p = bb.popen("run", "--rm", "--name", "orphaned", IMAGE, "sh", "-c", "sleep 1")
    deadline = time.time() + 15
    while bb("ps", "-q", "--filter", "name=orphaned", check=False).stdout.strip() == "" and time.time() < deadline:
        time.sleep(0.05)
    p.kill()
    p.wait()
    deadline = time.time() + 20
    while bb.lines("ps", "-aq") and time.time() < deadline:
        time.sleep(0.1)
    assert bb.lines("ps", "-aq") == []
    deadline = time.time() + 10
    while mounts_under(bb.root) and time.time() < deadline:
        time.sleep(0.1)
    assert not mounts_under(bb.root)


def test_detached_rm_removes_itself(bb):
    cid = bb.ok("run", "-d", "--rm", IMAGE, "sh", "-c", "sleep 0.3").stdout.strip()
    deadline = time.time() + 15
    while bb.lines("ps", "-aq") and time.time() < deadline:
        time.sleep(0.1)
    assert bb.lines("ps", "-aq") == []
    assert cgroups_named(cid) == []


def test_detach_prints_full_id_and_ps_shows_up(bb):
    cid = bb.ok("run", "-d", "--name", "web", IMAGE, "sleep", "60").stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    out = bb.ok("ps").stdout
    lines = out.splitlines()
    assert lines[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    row = [l for l in lines if l.startswith(cid[:12])]
    assert row and "Up " in row[0] and row[0].rstrip().endswith("web") and '"sleep 60"' in row[0]


def test_name_already_in_use(bb):
    bb.ok("create", "--name", "taken", IMAGE, "true")
    r = bb.fail("run", "--name", "taken", IMAGE, "true", code=125)
    assert 'name "/taken" is already in use' in r.stderr
    assert len(bb.lines("ps", "-aq")) == 1


def test_bad_memory_string_leaves_nothing(bb):
    bb.fail("run", "--memory", "lots", IMAGE, "true", code=125)
    assert bb.lines("ps", "-aq") == []
    assert not mounts_under(bb.root)


def test_bad_restart_policy(bb):
    bb.fail("run", "--restart", "sometimes", IMAGE, "true", code=125)
    bb.fail("run", "--rm", "--restart", "always", IMAGE, "true", code=125)
    assert bb.lines("ps", "-aq") == []


def test_unknown_image_leaves_nothing(bb, registry):
    r = bb.fail("run", "%s/test/does-not-exist:latest" % registry.host, "true", code=125)
    assert "Unable to find image" in r.stderr
    assert bb.lines("ps", "-aq") == []
    assert not mounts_under(bb.root)


def test_unknown_user_leaves_nothing(bb):
    bb.fail("run", "-u", "nosuchuser", IMAGE, "true", code=125)
    assert bb.lines("ps", "-aq") == []
    assert not mounts_under(bb.root)


def test_run_pulls_a_missing_image(short_servin, pushed):
    servin = short_servin
    ref = pushed["busybox"].ref
    r = servin.ok("run", "--rm", ref, "echo", "pulled")
    assert r.stdout == "pulled\n"
    assert "Unable to find image" in r.stderr
    assert pushed["busybox"].image_id in servin.lines("images", "-q", "--no-trunc")
    assert servin.lines("ps", "-aq") == []


def test_create_then_start_attach(bb):
    cid = bb.ok("create", "--name", "later", IMAGE, "echo", "started").stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    assert bb.ok("inspect", "-f", "{{.State.Status}}", "later").stdout.strip() == "created"
    r = bb.ok("start", "-a", "later")
    assert r.stdout == "started\n"
    assert bb.ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "later").stdout.strip() == "exited 0"


def test_start_again_after_exit(bb):
    bb.ok("run", "--name", "twice", IMAGE, "sh", "-c", "echo run >> /count; wc -l < /count")
    r = bb.ok("start", "-a", "twice")
    assert r.stdout.strip() == "2"  # the upper dir survives between runs


def test_foreground_run_forwards_signals(bb):
    p = bb.popen("run", IMAGE, "sh", "-c", 'trap "echo got-term; exit 5" TERM; echo ready; '
                 'while true; do sleep 0.1; done')
    line = p.stdout.readline()
    assert line == b"ready\n"
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 5, err
    assert b"got-term" in out


def test_tty_run_without_a_terminal(bb):
    r = bb.ok("run", "-t", IMAGE, "sh", "-c", "test -t 1 && echo is-a-tty")
    assert "is-a-tty" in r.stdout


def _run_on_pty(servin, args, send, timeout=30):
    """Run servin with a pty as its terminal; write `send` once the container answers, return
    (exit code, everything read)."""
    import fcntl
    import pty
    import select
    import struct
    import termios
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 31, 101, 0, 0))
    p = subprocess.Popen(servin.argv(args), stdin=slave, stdout=slave, stderr=slave, env=servin.env,
                         start_new_session=True)
    os.close(slave)
    out = b""
    sent = False
    deadline = time.time() + timeout
    while time.time() < deadline:
        r, _, _ = select.select([master], [], [], 0.2)
        if r:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        if not sent and b"#" in out:
            os.write(master, send)
            sent = True
        if p.poll() is not None and not r:
            break
    try:
        code = p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)  # its own session: nothing of a failed test lingers
        p.wait()
        raise
    finally:
        os.close(master)
    return code, out


def test_interactive_tty_shell(bb):
    code, out = _run_on_pty(bb, ["run", "-it", "--rm", IMAGE, "sh"],
                            b"echo tty-$((40+2)) $(tty); stty size; exit 3\r")
    assert code == 3, out
    assert b"tty-42 /dev/pts/" in out, out
    assert b"31 101" in out, out  # our window size reached the container's pty
    assert bb.lines("ps", "-aq") == []


def test_short_h_is_the_hostname_and_help_is_long(bb):
    assert bb.ok("run", "--rm", "-h", "shorthost", "-e", "A=1", IMAGE, "hostname").stdout == "shorthost\n"
    # A -h after IMAGE belongs to the command.
    assert bb.ok("run", "--rm", IMAGE, "ls", "-h", "/etc/passwd").stdout == "/etc/passwd\n"
    assert bb.ok("run", "--help").stdout.startswith("Usage:  servin container run")


def test_diff_and_export_of_a_stopped_container(bb, tmp_path):
    bb.ok("run", "--name", "changed", IMAGE, "sh", "-c", "echo hi > /newfile; rm /bin/ls; mkdir -p /etc/x")
    changes = bb.lines("diff", "changed")
    assert "A /newfile" in changes and "D /bin/ls" in changes and "A /etc/x" in changes
    assert "C /etc" in changes
    out = tmp_path / "changed.tar"
    bb.ok("export", "-o", str(out), "changed")
    with tarfile.open(out) as t:
        names = set(t.getnames())
        assert t.extractfile("newfile").read() == b"hi\n"
    assert "bin/busybox" in names and "etc/x" in names and "bin/ls" not in names
    assert not any(n.startswith("/") or n.startswith("..") for n in names)
    assert not mounts_under(bb.root), "export left the stopped container's root mounted"
    # To stdout too, and never onto a terminal.
    streamed = bb("export", "changed", input=b"")
    with tarfile.open(fileobj=io.BytesIO(streamed.stdout)) as t:
        assert set(t.getnames()) == names
    bb.fail("export", "nosuchcontainer")
