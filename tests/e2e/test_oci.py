"""The OCI runtime core through `servin oci`, runc's command line: isolation, lifecycle, errors.

Every test builds a bundle from Debian's busybox-static (scripts/make-busybox-rootfs) and checks
from inside the container; the `no_leaks` fixture asserts afterwards that no mount, cgroup
directory or process of the test's containers is left on the host.
"""

import array
import json
import os
import socket
import subprocess
import tarfile
import tempfile
import time
import uuid

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the runtime tests need root")


@pytest.fixture(scope="session")
def rootfs_tar(tmp_path_factory):
    path = tmp_path_factory.mktemp("busybox") / "rootfs.tar"
    subprocess.run([os.path.join(REPO, "scripts", "make-busybox-rootfs"), str(path)], check=True)
    return path


class Runtime:
    def __init__(self, bin_path, state_root, bundle):
        self.bin = bin_path
        self.state_root = state_root
        self.bundle = bundle
        self.ids = []

    def spec(self):
        with open(os.path.join(self.bundle, "config.json")) as f:
            return json.load(f)

    def write_spec(self, spec):
        with open(os.path.join(self.bundle, "config.json"), "w") as f:
            json.dump(spec, f)

    def new_id(self):
        cid = "t" + uuid.uuid4().hex[:10]
        self.ids.append(cid)
        return cid

    def oci(self, *args, check=False, timeout=60, **kw):
        cmd = [self.bin, "oci", "--root", self.state_root, *args]
        # Files, not pipes: a created container inherits our stdio and would hold a pipe open
        # long after `create` has returned, as with runc.
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            proc = subprocess.run(cmd, stdout=out, stderr=err, timeout=timeout, cwd=self.bundle, **kw)
            out.seek(0)
            err.seek(0)
            res = subprocess.CompletedProcess(cmd, proc.returncode, out.read().decode(errors="replace"),
                                              err.read().decode(errors="replace"))
        if check and res.returncode != 0:
            raise AssertionError(f"{cmd} exited {res.returncode}\nstdout:{res.stdout}\nstderr:{res.stderr}")
        return res

    def run(self, *argv, spec_change=None, **kw):
        spec = self.spec()
        spec["process"]["args"] = list(argv)
        if spec_change:
            spec_change(spec)
        self.write_spec(spec)
        return self.oci("run", "--bundle", self.bundle, self.new_id(), **kw)

    def state(self, cid):
        res = self.oci("state", cid, check=True)
        return json.loads(res.stdout)


@pytest.fixture
def rt(servin_bin, rootfs_tar, tmp_path):
    bundle = tmp_path / "bundle"
    (bundle / "rootfs").mkdir(parents=True)
    with tarfile.open(rootfs_tar) as t:
        t.extractall(bundle / "rootfs")
    state_root = tmp_path / "state"
    r = Runtime(servin_bin, str(state_root), str(bundle))
    r.oci("spec", "--bundle", str(bundle), check=True)
    spec = r.spec()
    spec["process"]["terminal"] = False
    r.write_spec(spec)
    yield r
    for cid in r.ids:
        r.oci("delete", "--force", cid)
    # Nothing of the test's containers may stay behind on the host.
    with open("/proc/self/mountinfo") as f:
        mounts = f.read()
    assert str(bundle) not in mounts, "a mount of the bundle leaked"
    for cid in r.ids:
        leaked = subprocess.run(["find", "/sys/fs/cgroup", "-maxdepth", "6", "-type", "d", "-name", cid],
                                capture_output=True, text=True).stdout
        assert leaked == "", f"cgroup directories leaked: {leaked}"
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert "sleep 987" not in ps, "a container process leaked"
    assert not os.listdir(state_root) if os.path.exists(state_root) else True


def test_spec_writes_a_loadable_default(rt):
    spec = rt.spec()
    assert spec["ociVersion"].startswith("1.")
    types = {n["type"] for n in spec["linux"]["namespaces"]}
    assert {"pid", "mount", "ipc", "uts", "network"} <= types
    again = rt.oci("spec", "--bundle", rt.bundle)
    assert again.returncode != 0 and "already exists" in again.stderr


def test_run_reports_the_exit_code(rt):
    assert rt.run("true").returncode == 0
    assert rt.run("sh", "-c", "exit 7").returncode == 7


def test_isolation_seen_from_inside(rt):
    script = ("echo pid=$$; hostname; cat /proc/self/mountinfo | wc -l; "
              "grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status; ls /")
    res = rt.run("sh", "-c", script, check=True)
    out = res.stdout
    assert "pid=1" in out
    assert "servin" in out.splitlines()[1]  # the spec's hostname, not the host's
    assert os.uname().nodename not in out.splitlines()[1] or os.uname().nodename == "servin"
    assert "CapEff:\t0000000020000420" in out  # AUDIT_WRITE, KILL, NET_BIND_SERVICE only
    assert "CapBnd:\t0000000020000420" in out
    assert "NoNewPrivs:\t1" in out
    assert "work" not in out.split("NoNewPrivs")[1]  # the host's directories are not visible


def test_no_host_mounts_visible(rt):
    res = rt.run("cat", "/proc/self/mountinfo", check=True)
    # Field 5 is where each mount is seen from inside: none may be a host path.
    points = [line.split()[4] for line in res.stdout.splitlines()]
    assert "/" in points and "/proc" in points
    assert not [p for p in points if p.startswith(rt.bundle) or p.startswith("/work") or p.startswith("/tmp/")]


def test_memory_limit_visible_in_cgroup(rt):
    def limit(spec):
        spec["linux"]["resources"] = {"memory": {"limit": 64 * 1024 * 1024}, "pids": {"limit": 64}}
    res = rt.run("sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max",
                 spec_change=limit, check=True)
    assert res.stdout.strip() == str(64 * 1024 * 1024)


def test_fork_bomb_is_contained_by_pids_limit(rt):
    def limit(spec):
        spec["linux"]["resources"] = {"pids": {"limit": 10}}
    # Only shell builtins after the bomb: counting must not need a fork.
    # busybox sh gives up at the first failed fork: the bomb runs in a subshell that may die.
    script = "(for i in $(seq 40); do sleep 987 & done) 2>/dev/null; set -- /proc/[0-9]*; echo count=$#"
    res = rt.run("sh", "-c", script, spec_change=limit, timeout=60)
    counts = [int(w[6:]) for w in res.stdout.split() if w.startswith("count=")]
    assert counts and 1 < counts[0] <= 10, res.stdout + res.stderr


def test_seccomp_rule_returns_eperm(rt):
    def seccomp(spec):
        spec["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
                                    "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}
        spec["root"]["readonly"] = False
    res = rt.run("sh", "-c", "grep Seccomp: /proc/self/status; mkdir /tmp/x; echo rc=$?", spec_change=seccomp)
    assert "Seccomp:\t2" in res.stdout
    assert "rc=1" in res.stdout
    assert "Operation not permitted" in res.stderr


def test_user_namespace_maps_root_to_unprivileged_uid(rt):
    # The mapped root must be able to reach the bundle, as with any runtime.
    d = rt.bundle
    while d != "/":
        os.chmod(d, os.stat(d).st_mode | 0o055)
        d = os.path.dirname(d)
    cid = rt.new_id()
    spec = rt.spec()
    spec["process"]["args"] = ["sleep", "987"]
    spec["linux"]["namespaces"].append({"type": "user"})
    spec["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    spec["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    spec["mounts"] = [m for m in spec["mounts"] if m["type"] != "cgroup"]
    rt.write_spec(spec)
    rt.oci("create", "--bundle", rt.bundle, cid, check=True)
    pid = rt.state(cid)["pid"]
    with open(f"/proc/{pid}/status") as f:
        uid_line = next(line for line in f if line.startswith("Uid:"))
    assert uid_line.split()[1] == "100000"
    with open(f"/proc/{pid}/uid_map") as f:
        assert f.read().split() == ["0", "100000", "65536"]
    rt.oci("delete", "--force", cid, check=True)


def test_readonly_root_refuses_writes(rt):
    res = rt.run("sh", "-c", "touch /newfile; echo rc=$?")
    assert "rc=1" in res.stdout
    assert "Read-only file system" in res.stderr


def test_masked_paths_are_empty(rt):
    files = [p for p in ("/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/proc/kcore") if os.path.exists(p)]
    assert files, "no maskable /proc file on this host"
    script = "; ".join(f"cat {p} | wc -c" for p in files) + "; ls /sys/firmware | wc -l"
    res = rt.run("sh", "-c", script, check=True)
    assert res.stdout.split() == ["0"] * (len(files) + 1)


def test_lifecycle_and_its_errors(rt):
    cid = rt.new_id()
    spec = rt.spec()
    spec["process"]["args"] = ["sleep", "987"]
    rt.write_spec(spec)
    rt.oci("create", "--bundle", rt.bundle, cid, check=True)
    st = rt.state(cid)
    assert st["status"] == "created" and st["pid"] > 0 and st["id"] == cid
    assert os.path.realpath(st["bundle"]) == os.path.realpath(rt.bundle)
    listed = rt.oci("list", "--format", "json", check=True)
    assert cid in [c["id"] for c in json.loads(listed.stdout)]
    rt.oci("start", cid, check=True)
    assert rt.state(cid)["status"] == "running"
    again = rt.oci("start", cid)
    assert again.returncode != 0 and "not created" in again.stderr
    busy = rt.oci("delete", cid)
    assert busy.returncode != 0 and "not stopped" in busy.stderr
    ps = rt.oci("ps", cid, check=True)
    assert str(st["pid"]) in ps.stdout
    rt.oci("pause", cid, check=True)
    assert rt.state(cid)["status"] == "paused"
    rt.oci("resume", cid, check=True)
    assert rt.state(cid)["status"] == "running"
    rt.oci("kill", cid, "KILL", check=True)
    for _ in range(100):
        if rt.state(cid)["status"] == "stopped":
            break
        time.sleep(0.05)
    assert rt.state(cid)["status"] == "stopped"
    rt.oci("delete", cid, check=True)
    gone = rt.oci("state", cid)
    assert gone.returncode != 0 and gone.stderr.strip() == f"servin: container {cid} does not exist"
    unknown = rt.oci("kill", "nosuchcontainer")
    assert unknown.returncode != 0 and "does not exist" in unknown.stderr


def test_create_twice_and_bad_bundle(rt):
    cid = rt.new_id()
    spec = rt.spec()
    spec["process"]["args"] = ["sleep", "987"]
    rt.write_spec(spec)
    rt.oci("create", "--bundle", rt.bundle, cid, check=True)
    dup = rt.oci("create", "--bundle", rt.bundle, cid)
    assert dup.returncode != 0 and "already exists" in dup.stderr
    rt.oci("delete", "--force", cid, check=True)
    missing = rt.oci("create", "--bundle", "/nonexistent", rt.new_id())
    assert missing.returncode != 0 and missing.stderr.count("servin: ") == 1


def test_setup_failure_is_one_clear_line_and_leaves_nothing(rt):
    def bad_mount(spec):
        spec["mounts"].append({"destination": "/mnt", "type": "nosuchfs", "source": "x"})
    res = rt.run("true", spec_change=bad_mount)
    assert res.returncode != 0
    lines = [line for line in res.stderr.splitlines() if line.startswith("servin: ")]
    assert len(lines) == 1 and "/mnt" in lines[0], res.stderr
    assert not os.listdir(rt.state_root)


def test_missing_binary_fails_at_start_with_127(rt):
    res = rt.run("/no/such/program")
    assert res.returncode != 0
    assert "/no/such/program" in res.stderr


def test_terminal_with_console_socket(rt, tmp_path):
    sock_path = str(tmp_path / "console.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(sock_path)
    server.listen(1)
    cid = rt.new_id()
    spec = rt.spec()
    spec["process"]["terminal"] = True
    spec["process"]["args"] = ["sh", "-c", "tty; echo hello-tty"]
    rt.write_spec(spec)
    proc = subprocess.Popen([rt.bin, "oci", "--root", rt.state_root, "create", "--bundle", rt.bundle,
                             "--console-socket", sock_path, cid], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server.settimeout(30)
    conn, _ = server.accept()
    msg, fds, _, _ = socket.recv_fds(conn, 16, 1)
    assert len(fds) == 1
    assert proc.wait(timeout=30) == 0
    rt.oci("start", cid, check=True)
    out = b""
    deadline = time.time() + 10
    while b"hello-tty" not in out and time.time() < deadline:
        try:
            chunk = os.read(fds[0], 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(fds[0])
    assert b"/dev/pts/" in out or b"/dev/console" in out
    assert b"hello-tty" in out


# The escapes that broke other runtimes (see the security notes in the README).

def test_cve_2019_5736_init_does_not_run_from_the_binary_on_disk(rt):
    cid = rt.new_id()
    spec = rt.spec()
    spec["process"]["args"] = ["sleep", "987"]
    rt.write_spec(spec)
    rt.oci("create", "--bundle", rt.bundle, cid, check=True)
    pid = rt.state(cid)["pid"]
    exe = os.readlink(f"/proc/{pid}/exe")
    assert exe.startswith("/memfd:"), exe
    # Opening it for writing must fail: the copy is sealed.
    with pytest.raises(OSError):
        os.open(f"/proc/{pid}/exe", os.O_WRONLY)
    rt.oci("delete", "--force", cid, check=True)


def test_cve_2024_21626_workdir_through_leaked_fd_is_refused(rt):
    for fd in range(3, 12):
        def cwd(spec, fd=fd):
            spec["process"]["cwd"] = f"/proc/self/fd/{fd}"
        res = rt.run("pwd", spec_change=cwd)
        if res.returncode == 0:
            assert res.stdout.startswith("/") and "unreachable" not in res.stdout
            assert not res.stdout.startswith(rt.bundle)


def test_cve_2019_16884_fake_proc_gets_no_writes(rt):
    fake = os.path.join(rt.bundle, "rootfs", "proc", "sys", "net", "ipv4")
    os.makedirs(fake)
    with open(os.path.join(fake, "ip_forward"), "w") as f:
        f.write("fake")

    def no_proc(spec):
        spec["mounts"] = [m for m in spec["mounts"] if m["type"] != "proc"]
        spec["linux"]["maskedPaths"] = []
        spec["linux"]["readonlyPaths"] = []
        spec["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
        spec["root"]["readonly"] = False
    res = rt.run("true", spec_change=no_proc)
    assert res.returncode != 0
    assert "procfs" in res.stderr
    with open(os.path.join(fake, "ip_forward")) as f:
        assert f.read() == "fake"


def test_cve_2021_30465_symlinked_mount_target_stays_inside(rt, tmp_path):
    host_dir = tmp_path / "hostdir"
    host_dir.mkdir()
    os.symlink(str(host_dir), os.path.join(rt.bundle, "rootfs", "evil"))

    def mount(spec):
        spec["mounts"].append({"destination": "/evil/x", "type": "tmpfs", "source": "tmpfs"})
        spec["root"]["readonly"] = False
    rt.run("true", spec_change=mount)
    assert os.listdir(host_dir) == []


def test_cve_2022_0811_sysctl_injection_is_refused(rt):
    def inject(spec):
        spec["linux"]["sysctl"] = {"kernel.shm_rmid_forced": "1+kernel.core_pattern=|/tmp/evil"}
    res = rt.run("true", spec_change=inject)
    assert res.returncode != 0
    assert "sysctl" in res.stderr and "not allowed" in res.stderr
    with open("/proc/sys/kernel/core_pattern") as f:
        assert "evil" not in f.read()


def test_sysctl_outside_namespaces_is_refused(rt):
    def host_sysctl(spec):
        spec["linux"]["sysctl"] = {"kernel.core_pattern": "core"}
    res = rt.run("true", spec_change=host_sysctl)
    assert res.returncode != 0 and "not allowed" in res.stderr


def start_sleeper(rt):
    cid = rt.new_id()
    spec = rt.spec()
    spec["process"]["args"] = ["sleep", "987"]
    rt.write_spec(spec)
    rt.oci("run", "--detach", "--bundle", rt.bundle, cid, check=True, stdin=subprocess.DEVNULL)
    assert rt.state(cid)["status"] == "running"
    return cid


def test_exec_joins_the_running_container(rt):
    cid = start_sleeper(rt)
    res = rt.oci("exec", cid, "sh", "-c", "echo pid=$$; hostname; tr '\\0' ' ' < /proc/1/cmdline; echo; id -u", check=True)
    lines = res.stdout.split("\n")
    assert lines[0] != "pid=1" and lines[0].startswith("pid=")  # a new process in the container's pid ns
    assert lines[1] == "servin"
    assert "sleep" in lines[2] and "987" in lines[2]  # pid 1 there is the container's init
    assert lines[3] == "0"
    pids = rt.oci("ps", cid, check=True).stdout.split()
    assert len(pids) == 2  # the exec'd shell has left the cgroup again: only PID header and the init


def test_exec_flags_and_errors(rt):
    cid = start_sleeper(rt)
    res = rt.oci("exec", "--user", "1000:1000", "--cwd", "/tmp", "--env", "FOO=bar", cid,
                 "sh", "-c", "id -u; id -g; pwd; echo $FOO; exit 4")
    assert res.returncode == 4
    assert res.stdout.split() == ["1000", "1000", "/tmp", "bar"]
    missing = rt.oci("exec", cid, "/no/such/program")
    assert missing.returncode == 127 and "/no/such/program" in missing.stderr
    process = {"args": ["sh", "-c", "echo from-process-json"], "cwd": "/", "env": ["PATH=/bin"],
               "user": {"uid": 0, "gid": 0}}
    path = os.path.join(rt.bundle, "process.json")
    with open(path, "w") as f:
        json.dump(process, f)
    res = rt.oci("exec", "--process", path, cid, check=True)
    assert res.stdout.strip() == "from-process-json"
    rt.oci("kill", cid, "KILL", check=True)
    for _ in range(100):
        if rt.state(cid)["status"] == "stopped":
            break
        time.sleep(0.05)
    stopped = rt.oci("exec", cid, "true")
    assert stopped.returncode != 0 and "stopped" in stopped.stderr


def test_hooks_run_with_the_state_on_stdin(rt, tmp_path):
    log = tmp_path / "hooks.log"
    hook = tmp_path / "hook.sh"
    hook.write_text(f"#!/bin/sh\necho \"$1 $(cat)\" >> {log}\n")
    hook.chmod(0o755)

    def hooks(spec):
        spec["hooks"] = {kind: [{"path": str(hook), "args": ["hook.sh", kind]}]
                         for kind in ("createRuntime", "createContainer", "poststart", "poststop")}
    assert rt.run("true", spec_change=hooks).returncode == 0
    lines = log.read_text().splitlines()
    kinds = [line.split()[0] for line in lines]
    assert kinds == ["createRuntime", "createContainer", "poststart", "poststop"]
    state = json.loads(lines[0].split(" ", 1)[1])
    assert state["id"] == rt.ids[-1] and state["ociVersion"].startswith("1.")


def test_failing_create_runtime_hook_aborts_create(rt, tmp_path):
    def hooks(spec):
        spec["hooks"] = {"createRuntime": [{"path": "/bin/false"}]}
    res = rt.run("true", spec_change=hooks)
    assert res.returncode != 0 and "createRuntime hook /bin/false failed" in res.stderr
    assert not os.listdir(rt.state_root)


def test_servin_runtime_binary_speaks_runc(rt):
    """servin-runtime, beside servin, is the runtime alone: what containerd or podman would call."""
    lean = os.path.join(os.path.dirname(rt.bin), "servin-runtime")
    assert os.access(lean, os.X_OK)
    libs = subprocess.run(["ldd", lean], capture_output=True, text=True).stdout
    assert "libcurl" not in libs and "libarchive" not in libs and "libsqlite3" not in libs
    cid = rt.new_id()
    spec = rt.spec()
    spec["process"]["args"] = ["sh", "-c", "exit 5"]
    rt.write_spec(spec)
    res = subprocess.run([lean, "--root", rt.state_root, "--log", os.path.join(rt.bundle, "log"),
                          "--log-format", "json", "run", "--bundle", rt.bundle, cid],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 5, res.stderr
    assert not os.listdir(rt.state_root)
    # Errors also reach --log as JSON lines, where containerd and podman look for them.
    bad = subprocess.run([lean, "--root", rt.state_root, "--log", os.path.join(rt.bundle, "log"),
                          "--log-format", "json", "start", "nosuchcontainer"], capture_output=True, text=True)
    assert bad.returncode != 0
    with open(os.path.join(rt.bundle, "log")) as f:
        entry = json.loads(f.read().splitlines()[-1])
    assert entry["level"] == "error" and "nosuchcontainer" in entry["msg"] and entry["time"].endswith("Z")


def test_deep_state_root_and_long_id(rt, tmp_path):
    """Unix socket paths hold 108 bytes; a deep state root with a 64-hex id must still work."""
    deep = tmp_path / ("d" * 60) / "state"
    cid = uuid.uuid4().hex + uuid.uuid4().hex
    assert len(str(deep / cid / "exec.sock")) > 108
    spec = rt.spec()
    spec["process"]["args"] = ["sh", "-c", "exit 6"]
    rt.write_spec(spec)
    res = subprocess.run([rt.bin, "oci", "--root", str(deep), "run", "--bundle", rt.bundle, cid],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 6, res.stderr
    assert not os.listdir(deep)


def test_hooks_leave_sigpipe_alone_for_the_container(rt, tmp_path):
    """Hooks run in the init before the user's program; an ignored SIGPIPE would survive execve."""
    hook = tmp_path / "quiet.sh"
    hook.write_text("#!/bin/sh\nexit 0\n")  # never reads the state on its stdin
    hook.chmod(0o755)

    def hooks(spec):
        spec["hooks"] = {"createContainer": [{"path": str(hook)}], "startContainer": [{"path": "/bin/true"}]}
    res = rt.run("sh", "-c", "grep SigIgn /proc/self/status", spec_change=hooks, check=True)
    ignored = int(res.stdout.split()[1], 16)
    assert not ignored & (1 << (13 - 1)), res.stdout  # SIGPIPE is 13
