"""The OCI spec `servin run` generates, seen from inside the container: Docker's default
capabilities, masked paths, hostname and hosts, loopback in a network namespace of its own, users
from the image's /etc/passwd, limits, --read-only, --privileged, and the errors that leave nothing
behind.
"""

import os
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import Servin

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")
IMAGE = "localhost/specbb:latest"
# Docker's 14 default capabilities as a CapEff mask: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID
# SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP.
DOCKER_DEFAULT_CAPS = 0xA80425FB


@pytest.fixture(scope="module")
def rootfs_tar(tmp_path_factory):
    path = tmp_path_factory.mktemp("spec-rootfs") / "rootfs.tar"
    subprocess.run([os.path.join(REPO, "scripts", "make-busybox-rootfs"), str(path)], check=True)
    return path


def mounts_under(root):
    with open("/proc/self/mountinfo") as f:
        return [l for l in f if root in l]


@pytest.fixture
def sv(servin_bin, rootfs_tar):
    # A short root: the runtime's socket paths must stay under 108 bytes.
    tmp = tempfile.mkdtemp(prefix="sv-", dir="/tmp")
    servin = Servin(tmp)
    servin.ok("import", "-c", 'CMD ["sh"]', str(rootfs_tar), IMAGE)
    yield servin
    for cid in servin.lines("ps", "-aq", "--no-trunc", check=False):
        servin("rm", "-f", cid, check=False)
    deadline = time.time() + 10
    while mounts_under(servin.root) and time.time() < deadline:
        time.sleep(0.1)
    leftover = mounts_under(servin.root)
    shutil.rmtree(tmp, ignore_errors=True)
    assert not leftover, "mounts left behind"


def run(sv, *args):
    return sv.ok("run", "--rm", *args).stdout


def cap_eff(status_text):
    for line in status_text.splitlines():
        if line.startswith("CapEff:"):
            return int(line.split()[1], 16)
    raise AssertionError("no CapEff in " + status_text)


def test_default_capabilities_are_dockers(sv):
    assert cap_eff(run(sv, IMAGE, "cat", "/proc/self/status")) == DOCKER_DEFAULT_CAPS


def test_cap_drop_all_cap_add_one(sv):
    out = run(sv, "--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE", IMAGE, "cat", "/proc/self/status")
    assert cap_eff(out) == 1 << 10


def test_hostname_and_hosts_name_the_container(sv):
    cid = sv.ok("create", IMAGE, "sh", "-c", "hostname; cat /etc/hosts").stdout.strip()
    sv.ok("start", cid)
    sv.ok("wait", cid)
    out = sv.ok("logs", cid).stdout.splitlines()
    assert out[0] == cid[:12]
    assert "127.0.0.1\tlocalhost" in out
    # On a bridge network the hostname names the container's address, as in Docker.
    assert any(l.endswith("\t%s" % cid[:12]) for l in out)


def test_masked_and_readonly_paths(sv):
    masked = [p for p in ("/proc/keys", "/proc/timer_list", "/proc/kcore") if os.path.exists(p)]
    assert masked, "the host has none of the masked /proc files"
    out = run(sv, IMAGE, "sh", "-c", "wc -c < %s; (echo x > /proc/sys/kernel/domainname) 2>&1; true" % masked[0])
    assert out.split()[0] == "0"
    assert "Read-only file system" in out


def test_loopback_is_up_in_its_own_network_namespace(sv):
    out = run(sv, "--network", "none", IMAGE, "sh", "-c", "cat /sys/class/net/lo/flags; ls /sys/class/net")
    flags, names = out.split("\n", 1)
    assert int(flags, 16) & 0x1, "lo is down"
    assert names.split() == ["lo"]
    # The default network adds eth0.
    out = run(sv, IMAGE, "sh", "-c", "cat /sys/class/net/lo/flags; ls /sys/class/net")
    flags, names = out.split("\n", 1)
    assert int(flags, 16) & 0x1, "lo is down"
    assert names.split() == ["eth0", "lo"]


def test_host_network_sees_host_interfaces(sv):
    # Other work on the machine may add or remove interfaces meanwhile: what the container sees
    # must lie between what the host had before and after, and include what stayed throughout.
    before = set(os.listdir("/sys/class/net"))
    out = run(sv, "--network", "host", IMAGE, "ls", "/sys/class/net")
    after = set(os.listdir("/sys/class/net"))
    seen = set(out.split())
    assert before & after <= seen <= before | after, (seen, before, after)
    assert "lo" in seen and len(seen) > 1


def test_user_by_name_from_the_image(sv):
    assert run(sv, "-u", "nobody", IMAGE, "id").strip() == "uid=65534(nobody) gid=65534(nogroup)"
    assert run(sv, "-u", "1234:5", IMAGE, "id", "-u").strip() == "1234"
    assert run(sv, "-u", "daemon", IMAGE, "sh", "-c", "echo $HOME").strip() == "/usr/sbin"


def test_unknown_user_fails_and_leaves_nothing(sv):
    r = sv.fail("run", "-u", "nobody2", IMAGE, "id")
    assert 'invalid user "nobody2": no such user in the image' in r.stderr
    assert sv.lines("ps", "-aq") == []
    assert not mounts_under(sv.root)


def test_read_only_root(sv):
    out = run(sv, "--read-only", IMAGE, "sh", "-c", "touch /x 2>&1; echo done")
    assert "touch: /x: Read-only file system" in out
    assert "Read-only" not in run(sv, IMAGE, "sh", "-c", "touch /x 2>&1; echo done")


def test_privileged_has_all_our_capabilities_and_rw_sys(sv):
    with open("/proc/self/status") as f:
        ours = [l for l in f if l.startswith("CapBnd:")][0].split()[1]
    out = run(sv, "--privileged", IMAGE, "sh", "-c", "cat /proc/self/status; mount")
    assert cap_eff(out) == int(ours, 16)
    sys_line = [l for l in out.splitlines() if " on /sys type sysfs " in l][0]
    assert "(rw," in sys_line
    assert "Seccomp:\t0" in out


def test_memory_and_pids_limits_reach_the_cgroup(sv):
    script = ("cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes; "
              "cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max")
    out = run(sv, "-m", "64m", "--pids-limit", "50", IMAGE, "sh", "-c", script).split()
    assert out == [str(64 * 1024 * 1024), "50"]


def test_seccomp_is_on_by_default_and_off_when_unconfined(sv):
    assert "Seccomp:\t2" in run(sv, IMAGE, "cat", "/proc/self/status")
    assert "Seccomp:\t0" in run(sv, "--security-opt", "seccomp=unconfined", IMAGE, "cat", "/proc/self/status")


def test_seccomp_program_is_cached_and_a_damaged_cache_is_never_trusted(sv):
    # The default profile denies unshare; without a profile a user namespace may be made.
    denied = sv("run", "--rm", IMAGE, "unshare", "-U", "true", check=False)
    assert denied.returncode != 0 and "Operation not permitted" in denied.stderr
    sv.ok("run", "--rm", "--security-opt", "seccomp=unconfined", IMAGE, "unshare", "-U", "true")
    cache = os.path.join(sv.root, "run", "seccomp")
    [name] = [n for n in os.listdir(cache) if n.endswith(".bpf")]
    path = os.path.join(cache, name)
    assert os.stat(cache).st_mode & 0o077 == 0
    with open(path, "rb") as f:
        good = f.read()
    # Garbage, an empty file, and a program cut short: each is compiled again, and still denies.
    for damage in (os.urandom(len(good)), b"", good[:-8]):
        with open(path, "wb") as f:
            f.write(damage)
        r = sv("run", "--rm", IMAGE, "unshare", "-U", "true", check=False)
        assert r.returncode != 0 and "Operation not permitted" in r.stderr
        with open(path, "rb") as f:
            assert f.read() == good
    # A cache others could write to is not used at all (and not written).
    os.remove(path)
    os.chmod(cache, 0o777)
    try:
        r = sv("run", "--rm", IMAGE, "unshare", "-U", "true", check=False)
        assert r.returncode != 0 and "Operation not permitted" in r.stderr
        assert not os.path.exists(path)
    finally:
        os.chmod(cache, 0o700)
