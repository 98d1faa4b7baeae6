"""Volumes: `servin volume ...`, and `run`/`create` with -v, --mount, --tmpfs, --volumes-from and the
image's VOLUME entries. Data is never lost: only `volume rm/prune/rm-all` delete a volume.

Images come from `servin import` of scripts/make-busybox-rootfs, with an /app tree of known owners and
modes added for copy-up. The `vs` fixture checks afterwards that no mount or process of the test's
store (or of its host directories) is left on the host.
"""

import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time

import pytest

from conftest import Servin

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")
IMAGE = "localhost/vbb:latest"
VIMAGE = "localhost/vbb-vol:latest"


def mounts_under(path):
    with open("/proc/self/mountinfo") as f:
        return [l for l in f if path in l]


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


@pytest.fixture(scope="session")
def app_rootfs(tmp_path_factory):
    """busybox plus /app (1234:5678, 0750) holding hello (42:43, 0640) and a symlink."""
    d = tmp_path_factory.mktemp("vol-rootfs")
    base = d / "base.tar"
    subprocess.run([os.path.join(REPO, "scripts", "make-busybox-rootfs"), str(base)], check=True)
    out = d / "rootfs.tar"
    with tarfile.open(base) as src, tarfile.open(out, "w") as dst:
        for m in src.getmembers():
            dst.addfile(m, src.extractfile(m) if m.isfile() else None)
        app = tarfile.TarInfo("app")
        app.type, app.mode, app.uid, app.gid = tarfile.DIRTYPE, 0o750, 1234, 5678
        dst.addfile(app)
        data = b"from-image\n"
        hello = tarfile.TarInfo("app/hello")
        hello.size, hello.mode, hello.uid, hello.gid = len(data), 0o640, 42, 43
        dst.addfile(hello, io.BytesIO(data))
        link = tarfile.TarInfo("app/link")
        link.type, link.linkname = tarfile.SYMTYPE, "hello"
        dst.addfile(link)
    return out


@pytest.fixture
def vs(servin_bin, app_rootfs):
    """A runner (short root path) with IMAGE (CMD sh) and VIMAGE (the same with VOLUME /app)."""
    tmp = tempfile.mkdtemp(prefix="sv-vol-", dir="/tmp")
    servin = Servin(tmp)
    servin.ok("import", "-c", 'CMD ["sh"]', str(app_rootfs), IMAGE)
    servin.ok("import", "-c", 'CMD ["sh"]', "-c", "VOLUME /app", str(app_rootfs), VIMAGE)
    yield servin
    for cid in servin.lines("ps", "-aq", "--no-trunc", check=False) if os.path.exists(servin.root) else []:
        servin("rm", "-f", cid, check=False)
    deadline = time.time() + 10
    while mounts_under(tmp) and time.time() < deadline:
        time.sleep(0.1)
    assert not mounts_under(tmp), "mounts left behind"
    deadline = time.time() + 10
    while processes_using(servin.root) and time.time() < deadline:
        time.sleep(0.1)
    assert not processes_using(servin.root), "processes left behind"
    shutil.rmtree(tmp, ignore_errors=True)


def volumes(s):
    return s.lines("volume", "ls", "-q")


def vol_data(s, name):
    return os.path.join(s.root, "volumes", name, "_data")


# ---- volume commands ----

def test_create_ls_inspect_rm(vs):
    assert vs.ok("volume", "create", "--label", "team=web", "--label", "tier", "web-data").stdout == "web-data\n"
    # A second create of the same name is the same volume, as in Docker.
    assert vs.ok("volume", "create", "web-data").stdout == "web-data\n"
    gen = vs.ok("volume", "create").stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", gen)
    info = vs.json("volume", "inspect", "web-data")
    assert len(info) == 1
    v = info[0]
    assert v["Name"] == "web-data" and v["Driver"] == "local" and v["Scope"] == "local"
    assert v["Mountpoint"] == vol_data(vs, "web-data") and os.path.isdir(v["Mountpoint"])
    assert v["Labels"] == {"team": "web", "tier": ""}
    assert v["Options"] == {}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", v["CreatedAt"])
    assert vs.ok("volume", "inspect", "-f", "{{.Name}} {{.Driver}}", "web-data").stdout == "web-data local\n"
    out = vs.ok("volume", "ls").stdout.splitlines()
    assert out[0].split() == ["DRIVER", "VOLUME", "NAME"]
    assert sorted(volumes(vs)) == sorted([gen, "web-data"])
    assert vs.lines("volume", "ls", "-q", "--filter", "label=team=web") == ["web-data"]
    assert vs.lines("volume", "ls", "-q", "--filter", "label=tier") == ["web-data"]
    assert vs.lines("volume", "ls", "-q", "--filter", "label=team=db") == []
    assert vs.lines("volume", "ls", "-q", "--filter", "name=web") == ["web-data"]
    assert vs.lines("volume", "ls", "-q", "--filter", "driver=local", "--filter", "name=web") == ["web-data"]
    rows = [json.loads(l) for l in vs.lines("volume", "ls", "--format", "json")]
    assert {r["Name"] for r in rows} == {gen, "web-data"}
    assert vs.lines("volume", "ls", "--format", "{{.Name}}={{.Labels}}", "--filter", "name=web") == \
        ["web-data=team=web,tier="]
    # The plural forms.
    assert sorted(vs.lines("volumes", "ls", "-q")) == sorted([gen, "web-data"])
    assert vs.ok("volumes", "rm", gen).stdout == gen + "\n"
    assert vs.ok("volume", "rm", "web-data").stdout == "web-data\n"
    assert volumes(vs) == []
    assert not os.path.exists(os.path.join(vs.root, "volumes", "web-data"))
    vs.fail("volume", "rm", "web-data", code=1)
    vs.ok("volume", "rm", "-f", "web-data")  # -f: already gone is fine


def test_bad_names_and_options_are_one_line_and_leave_nothing(vs):
    for bad in (["a"], ["-x"], [".hidden"], ["a/b"], ["bad name"], ["--driver", "nfs", "okname"],
                ["--opt", "type=ext4", "okname"], ["--opt", "colour=red", "okname"],
                ["--opt", "type=none", "--opt", "o=bind", "--opt", "device=/no/such/servin/dir", "okname"],
                ["--opt", "novalue", "okname"], ["--label", "=x", "okname"]):
        vs.fail("volume", "create", *bad)
    vs.fail("volume", "inspect", "nosuchvolume")
    assert volumes(vs) == []
    assert os.listdir(os.path.join(vs.root, "volumes")) == [] if os.path.exists(
        os.path.join(vs.root, "volumes")) else True
    vs.fail("volume", "ls", "--filter", "colour=red")
    vs.fail("volume", "ls", "--filter", "dangling=maybe")


def test_concurrent_creates_of_one_name(vs):
    procs = [vs.popen("volume", "create", "shared") for _ in range(8)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert all(o[0] == b"shared\n" for o in outs)
    assert volumes(vs) == ["shared"]
    assert os.path.isdir(vol_data(vs, "shared"))


# ---- data across containers ----

def test_named_volume_keeps_a_file_across_rm_and_a_new_run(vs):
    vs.ok("run", "--name", "writer", "-v", "keep:/data", IMAGE, "sh", "-c", "echo kept > /data/f")
    vs.ok("rm", "-v", "writer")  # -v removes only anonymous volumes
    assert volumes(vs) == ["keep"]
    r = vs.ok("run", "--rm", "-v", "keep:/data", IMAGE, "cat", "/data/f")
    assert r.stdout == "kept\n"
    assert volumes(vs) == ["keep"]  # --rm leaves named volumes too


def test_copy_up_fills_a_new_volume_with_owners_and_modes(vs):
    r = vs.ok("run", "--rm", "-v", "appdata:/app", IMAGE, "sh", "-c",
              "stat -c '%u:%g %a' /app /app/hello; cat /app/link")
    assert r.stdout == "1234:5678 750\n42:43 640\nfrom-image\n"
    st = os.stat(vol_data(vs, "appdata"))
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (1234, 5678, 0o750)
    # Not empty any more: the next container sees the volume's content, not the image's.
    vs.ok("run", "--rm", "-v", "appdata:/app", IMAGE, "sh", "-c", "rm /app/hello; echo mine > /app/own")
    r = vs.ok("run", "--rm", "-v", "appdata:/app", IMAGE, "ls", "/app")
    assert r.stdout.split() == ["link", "own"]
    # nocopy leaves a new volume empty.
    r = vs.ok("run", "--rm", "-v", "empty:/app:nocopy", IMAGE, "ls", "-A", "/app")
    assert r.stdout == ""


def test_image_volume_becomes_an_anonymous_volume_and_rm_v_removes_it(vs):
    cid = vs.ok("create", "--name", "anon", "-v", "named:/named", "-v", "/extra", VIMAGE, "true").stdout.strip()
    mounts = vs.json("inspect", "anon")[0]["Mounts"]
    by_dest = {m["Destination"]: m for m in mounts}
    assert set(by_dest) == {"/app", "/extra", "/named"}
    for m in mounts:
        assert m["Type"] == "volume" and m["Driver"] == "local" and m["RW"] is True
        assert m["Source"] == vol_data(vs, m["Name"])
        assert set(m) == {"Type", "Name", "Source", "Destination", "Driver", "Mode", "RW", "Propagation"}
    assert by_dest["/named"]["Name"] == "named"
    anon = [by_dest["/app"]["Name"], by_dest["/extra"]["Name"]]
    assert all(re.fullmatch(r"[0-9a-f]{64}", n) for n in anon)
    # The image's /app was copied up into its anonymous volume.
    assert open(os.path.join(vol_data(vs, anon[0]), "hello")).read() == "from-image\n"
    assert sorted(vs.lines("volume", "ls", "-q", "--filter", "dangling=false")) == sorted(anon + ["named"])
    vs.ok("rm", "-v", cid)
    assert volumes(vs) == ["named"]
    assert vs.lines("volume", "ls", "-q", "--filter", "dangling=true") == ["named"]
    # Without -v the anonymous volumes stay (data is never lost by accident).
    vs.ok("create", "--name", "anon2", VIMAGE, "true")
    vs.ok("rm", "anon2")
    assert len(volumes(vs)) == 2


def test_run_rm_removes_anonymous_volumes(vs):
    vs.ok("run", "--rm", VIMAGE, "true")
    vs.ok("run", "--rm", "-d", "-v", "/scratch", IMAGE, "true")
    deadline = time.time() + 20
    while vs.lines("ps", "-aq") and time.time() < deadline:
        time.sleep(0.2)
    assert volumes(vs) == []


def test_readonly_refuses_writes(vs):
    vs.ok("volume", "create", "rovol")
    r = vs("run", "--rm", "-v", "rovol:/data:ro", IMAGE, "sh", "-c", "echo x > /data/f", check=False)
    assert r.returncode != 0 and "Read-only file system" in r.stderr
    r = vs("run", "--rm", "--mount", "type=volume,source=rovol,target=/data,readonly", IMAGE,
           "touch", "/data/f", check=False)
    assert r.returncode != 0 and "Read-only file system" in r.stderr
    assert os.listdir(vol_data(vs, "rovol")) == []
    # rw is the default and may be said.
    vs.ok("run", "--rm", "-v", "rovol:/data:rw", IMAGE, "touch", "/data/f")
    assert os.listdir(vol_data(vs, "rovol")) == ["f"]


def test_bind_mounts_both_ways(vs, tmp_path):
    host = tmp_path / "h"
    host.mkdir()
    (host / "from-host").write_text("host says hi\n")
    r = vs.ok("run", "--rm", "-v", "%s:/h" % host, IMAGE, "sh", "-c", "cat /h/from-host; echo back > /h/from-ctr")
    assert r.stdout == "host says hi\n"
    assert (host / "from-ctr").read_text() == "back\n"
    r = vs.ok("run", "--rm", "--mount", "type=bind,source=%s,target=/h,readonly" % host, IMAGE,
              "sh", "-c", "cat /h/from-ctr; touch /h/x 2>/dev/null || echo refused")
    assert r.stdout == "back\nrefused\n"
    # Binds show in inspect, Docker-shaped.
    vs.ok("create", "--name", "bnd", "-v", "%s:/h:ro" % host, IMAGE, "true")
    m = vs.json("inspect", "bnd")[0]["Mounts"]
    assert m == [{"Type": "bind", "Source": str(host), "Destination": "/h", "Mode": "ro", "RW": False,
                  "Propagation": "rprivate"}]
    assert volumes(vs) == []  # a bind is not a volume


def test_missing_host_path(vs, tmp_path):
    missing = tmp_path / "not" / "there"
    # -v creates it, as Docker does.
    vs.ok("run", "--rm", "-v", "%s:/m" % missing, IMAGE, "touch", "/m/made")
    assert (missing / "made").exists()
    # --mount type=bind refuses it with one clear line, and leaves no container.
    other = tmp_path / "nope"
    r = vs.fail("run", "--rm", "--mount", "type=bind,source=%s,target=/m" % other, IMAGE, "true", code=125)
    assert "bind source path does not exist: %s" % other in r.stderr
    assert not other.exists()
    assert vs.lines("ps", "-aq") == []


def test_tmpfs_mounts(vs):
    r = vs.ok("run", "--rm", "--tmpfs", "/t1:size=1m,mode=1777", "--mount",
              "type=tmpfs,target=/t2,tmpfs-size=2m,tmpfs-mode=700", IMAGE, "sh", "-c",
              "grep -E ' /t[12] ' /proc/mounts; stat -c '%a' /t1 /t2")
    lines = r.stdout.splitlines()
    assert any(l.startswith("tmpfs /t1 tmpfs") and "size=1024k" in l for l in lines), r.stdout
    assert any(l.startswith("tmpfs /t2 tmpfs") and "size=2048k" in l for l in lines), r.stdout
    assert lines[-2:] == ["1777", "700"]
    # A volume with the local driver's tmpfs option: its data lives in memory only.
    vs.ok("volume", "create", "--opt", "type=tmpfs", "--opt", "device=tmpfs", "--opt", "o=size=3m", "memvol")
    assert vs.json("volume", "inspect", "memvol")[0]["Options"] == {"type": "tmpfs", "device": "tmpfs",
                                                                       "o": "size=3m"}
    r = vs.ok("run", "--rm", "-v", "memvol:/mem", IMAGE, "sh", "-c", "grep ' /mem ' /proc/mounts; touch /mem/x")
    assert r.stdout.startswith("tmpfs /mem tmpfs") and "size=3072k" in r.stdout
    assert os.listdir(vol_data(vs, "memvol")) == []


def test_bind_option_volume(vs, tmp_path):
    dev = tmp_path / "dev"
    dev.mkdir()
    vs.ok("volume", "create", "--opt", "type=none", "--opt", "o=bind", "--opt", "device=%s" % dev, "bindvol")
    vs.ok("run", "--rm", "-v", "bindvol:/b", IMAGE, "sh", "-c", "echo via-volume > /b/f")
    assert (dev / "f").read_text() == "via-volume\n"
    vs.ok("volume", "rm", "bindvol")
    assert (dev / "f").exists()  # the device's content is the user's, never ours to delete


def test_volumes_from(vs):
    vs.ok("create", "--name", "src", "-v", "shared:/shared", VIMAGE, "true")
    r = vs.ok("run", "--rm", "--volumes-from", "src", IMAGE, "sh", "-c",
              "echo hi > /shared/f; cat /app/hello")
    assert r.stdout == "from-image\n"
    assert open(os.path.join(vol_data(vs, "shared"), "f")).read() == "hi\n"
    r = vs("run", "--rm", "--volumes-from", "src:ro", IMAGE, "touch", "/shared/g", check=False)
    assert r.returncode != 0 and "Read-only file system" in r.stderr
    vs.fail("run", "--rm", "--volumes-from", "nosuchcontainer", IMAGE, "true")
    vs.fail("run", "--rm", "--volumes-from", "src:rx", IMAGE, "true")


def test_in_use_refusal_and_prune_keeps_used(vs):
    cid = vs.ok("create", "--name", "user", "-v", "busy:/d", IMAGE, "true").stdout.strip()
    vs.ok("volume", "create", "idle")
    r = vs.fail("volume", "rm", "busy", code=1)
    assert "remove volume busy: volume is in use by container %s" % cid[:12] in r.stderr
    r = vs.fail("volume", "rm", "-f", "busy", code=1)  # -f never removes data in use
    assert os.path.isdir(vol_data(vs, "busy"))
    (open(os.path.join(vol_data(vs, "idle"), "blob"), "w")).write("x" * 1000)
    # Without a terminal and without -f, prune refuses.
    vs.fail("volume", "prune", input="y\n")
    assert sorted(volumes(vs)) == ["busy", "idle"]
    r = vs.ok("volume", "prune", "-f")
    assert r.stdout == "Deleted Volumes:\nidle\n\nTotal reclaimed space: 1kB\n"
    assert volumes(vs) == ["busy"]
    r = vs.ok("volume", "prune", "-f")
    assert r.stdout == "Total reclaimed space: 0B\n"
    vs.ok("rm", "user")
    assert volumes(vs) == ["busy"]  # the container went, its named volume did not
    vs.ok("volume", "rm", "busy")


def test_prune_filter_and_rm_all(vs):
    vs.ok("volume", "create", "--label", "keep=yes", "k1")
    vs.ok("volume", "create", "--label", "keep=no", "k2")
    vs.ok("volume", "create", "k3")
    r = vs.ok("volume", "prune", "-f", "--filter", "label=keep=no")
    assert "k2\n" in r.stdout
    assert sorted(volumes(vs)) == ["k1", "k3"]
    vs.fail("volume", "prune", "-f", "--filter", "name=k1")
    vs.ok("create", "--name", "holder", "-v", "k1:/d", IMAGE, "true")
    vs.fail("volume", "rm-all")  # asks, and there is no terminal
    assert sorted(volumes(vs)) == ["k1", "k3"]
    r = vs("volumes", "rm-all", "-f", check=False)
    assert r.returncode == 1
    assert r.stdout == "k3\n"
    assert "remove volume k1: volume is in use" in r.stderr
    assert volumes(vs) == ["k1"]


def test_bad_run_input_is_one_line_and_leaves_nothing(vs, tmp_path):
    bad = [
        ["-v", "bad name:/d"],
        ["-v", "x:relative"],
        ["-v", "x:/"],
        ["-v", "x:/d:rx"],
        ["-v", "x:/d", "-v", "y:/d"],
        ["-v", "x:/d:rshared"],
        ["--mount", "type=nfs,target=/d"],
        ["--mount", "type=volume"],
        ["--mount", "type=volume,target=/d,bogus=1"],
        ["--mount", "type=bind,target=/d"],
        ["--mount", "type=tmpfs,source=x,target=/d"],
        ["--mount", "type=tmpfs,target=/d,tmpfs-size=lots"],
        ["--mount", "type=bind,source=relative,target=/d"],
        ["--mount", "type=volume,source=x,target=/d,volume-opt=type=ext4"],
        ["--mount", "type=volume,source=x,target=/d,volume-driver=nfs"],
        ["--volumes-from", "ghost"],
        ["--tmpfs", "/d", "-v", "x:/d"],
    ]
    for args in bad:
        r = vs.fail("run", "--rm", *args, IMAGE, "true")
        assert "\n" not in r.stderr.strip() or r.stderr.count("servin: ") == 1
        vs.fail("create", *args, IMAGE, "true")
    assert volumes(vs) == []
    assert vs.lines("ps", "-aq") == []
    assert not mounts_under(vs.tmp)


def test_mount_targets_stay_inside_the_root(vs, tmp_path, app_rootfs):
    """A symlink in the image pointing out of the root does not carry a mount out with it."""
    host = tmp_path / "h"
    host.mkdir()
    (host / "marker").write_text("m\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    rootfs = tmp_path / "esc.tar"
    with tarfile.open(app_rootfs) as src, tarfile.open(rootfs, "w") as dst:
        for m in src.getmembers():
            dst.addfile(m, src.extractfile(m) if m.isfile() else None)
        esc = tarfile.TarInfo("escape")
        esc.type, esc.linkname = tarfile.SYMTYPE, str(outside)
        dst.addfile(esc)
    vs.ok("import", "-c", 'CMD ["sh"]', str(rootfs), "localhost/esc:latest")
    r = vs.ok("run", "--rm", "-v", "%s:/escape" % host, "-v", "escvol:/escape/deeper", "localhost/esc:latest",
              "ls", "/escape")
    assert "marker" in r.stdout.split()
    assert os.listdir(outside) == []
    assert not mounts_under(str(outside))
