"""`servin cp`: both directions with Docker's rules (SRC/. copies the contents, a directory goes into
an existing directory, a file onto a file), tar streams on stdin/stdout, -a and -L, running and
stopped containers, and paths that never leave the container's root.  Fixtures come from
test_run.py."""

import io
import os
import re
import shutil
import tarfile
import tempfile

import pytest

from test_run import IMAGE, bb, busybox_rootfs, mounts_under, short_servin  # noqa: F401

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")


def run_d(s, *args):
    cid = s.ok("run", "-d", *args).stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    return cid


def sh(s, name, script):
    return s.ok("exec", name, "sh", "-c", script).stdout


@pytest.fixture
def tree(tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("alpha\n")
    (src / "sub" / "b.txt").write_text("beta\n")
    os.chmod(src / "sub" / "b.txt", 0o751)
    os.symlink("a.txt", src / "link")
    os.chown(src / "a.txt", 1234, 5678)
    return src


def test_round_trip_into_and_out_of_a_running_container(bb, tree, tmp_path):
    run_d(bb, "--name", "rt", IMAGE, "sleep", "300")
    # A directory into an existing directory lands inside it, under its own name.
    bb.ok("cp", str(tree), "rt:/tmp")
    assert sh(bb, "rt", "cat /tmp/src/a.txt /tmp/src/sub/b.txt") == "alpha\nbeta\n"
    assert sh(bb, "rt", "readlink /tmp/src/link") == "a.txt\n"
    assert sh(bb, "rt", "stat -c '%a %u:%g' /tmp/src/sub/b.txt /tmp/src/a.txt") == "751 0:0\n644 0:0\n"
    # And back out to a new name: the copy is the directory itself, renamed.
    out = tmp_path / "back"
    bb.ok("container", "cp", "rt:/tmp/src", str(out))
    assert (out / "a.txt").read_text() == "alpha\n" and (out / "sub" / "b.txt").read_text() == "beta\n"
    assert os.readlink(out / "link") == "a.txt"
    assert oct(os.stat(out / "sub" / "b.txt").st_mode & 0o777) == "0o751"


def test_contents_file_onto_file_and_relative_paths(bb, tree, tmp_path):
    run_d(bb, "--name", "rules", IMAGE, "sleep", "300")
    sh(bb, "rules", "mkdir /dest && echo old > /dest/keep")
    # SRC/. copies what is in the directory, into the existing one.
    bb.ok("cp", str(tree) + "/.", "rules:/dest")
    assert sh(bb, "rules", "ls /dest | tr '\\n' ' '") == "a.txt keep link sub "
    # A file onto an existing file replaces it; onto a missing name creates it.
    bb.ok("cp", str(tree / "sub" / "b.txt"), "rules:/dest/keep")
    assert sh(bb, "rules", "cat /dest/keep") == "beta\n"
    bb.ok("cp", str(tree / "a.txt"), "rules:/dest/renamed")
    assert sh(bb, "rules", "cat /dest/renamed") == "alpha\n"
    # Relative host paths are relative to the working directory.
    bb.ok("cp", "rules:/dest/renamed", "here.txt", cwd=str(tmp_path))
    assert (tmp_path / "here.txt").read_text() == "alpha\n"
    hostdir = tmp_path / "into"
    hostdir.mkdir()
    bb.ok("cp", "rules:/dest/.", str(hostdir))
    assert sorted(os.listdir(hostdir)) == ["a.txt", "keep", "link", "renamed", "sub"]
    # Errors: a directory onto a file, a missing source, a missing destination directory.
    r = bb.fail("cp", str(tree), "rules:/dest/keep")
    assert "cannot copy a directory to a file" in r.stderr
    r = bb.fail("cp", "rules:/nope", str(tmp_path / "x"))
    assert "Could not find the file /nope in container rules" in r.stderr
    r = bb.fail("cp", str(tree / "a.txt"), "rules:/no/such/dir/")
    assert "does not exist" in r.stderr
    r = bb.fail("cp", str(tree / "a.txt"), "rules:/no/such/file")
    assert "no such directory" in r.stderr
    bb.fail("cp", "rules:/a", "rules:/b")
    bb.fail("cp", str(tree), str(tmp_path / "y"))
    bb.fail("cp", str(tree), "nosuch:/tmp")


def test_archive_keeps_owners_and_follow_link(bb, tree, tmp_path):
    run_d(bb, "--name", "own", IMAGE, "sleep", "300")
    bb.ok("cp", "-a", str(tree / "a.txt"), "own:/kept")
    assert sh(bb, "own", "stat -c '%u:%g' /kept") == "1234:5678\n"
    sh(bb, "own", "echo x > /byuser && chown 42:43 /byuser && ln -s /byuser /lnk")
    bb.ok("cp", "own:/byuser", str(tmp_path / "plain"))
    st = os.stat(tmp_path / "plain")
    assert (st.st_uid, st.st_gid) == (os.getuid(), os.getgid())
    bb.ok("cp", "--archive", "own:/byuser", str(tmp_path / "arch"))
    st = os.stat(tmp_path / "arch")
    assert (st.st_uid, st.st_gid) == (42, 43)
    # Without -L a symlink is copied as a symlink; with -L as what it points to (inside the container).
    bb.ok("cp", "own:/lnk", str(tmp_path / "l1"))
    assert os.readlink(tmp_path / "l1") == "/byuser"
    bb.ok("cp", "-L", "own:/lnk", str(tmp_path / "l2"))
    assert (tmp_path / "l2").read_text() == "x\n"


def test_tar_streams_on_stdin_and_stdout(bb, tree):
    run_d(bb, "--name", "tars", IMAGE, "sleep", "300")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        data = b"from a stream\n"
        info = tarfile.TarInfo("d/f.txt")
        info.size = len(data)
        info.mode = 0o600
        t.addfile(info, io.BytesIO(data))
    bb.ok("cp", "-", "tars:/tmp", input=buf.getvalue())
    assert sh(bb, "tars", "cat /tmp/d/f.txt; stat -c %a /tmp/d/f.txt") == "from a stream\n600\n"
    r = bb("cp", "tars:/tmp/d", "-", input=b"")
    assert r.returncode == 0
    with tarfile.open(fileobj=io.BytesIO(r.stdout)) as t:
        assert sorted(t.getnames()) == ["d", "d/f.txt"]
        assert t.extractfile("d/f.txt").read() == b"from a stream\n"
    # A stream must go into a directory.
    r = bb.fail("cp", "-", "tars:/tmp/d/f.txt", input=buf.getvalue())
    assert b"must be a directory" in r.stderr
    # An entry that climbs out with .. is refused.
    evil = io.BytesIO()
    with tarfile.open(fileobj=evil, mode="w") as t:
        info = tarfile.TarInfo("../../escaped")
        info.size = 1
        t.addfile(info, io.BytesIO(b"x"))
    bb.fail("cp", "-", "tars:/tmp", input=evil.getvalue())
    assert sh(bb, "tars", "ls /escaped 2>&1 || true").strip().endswith("No such file or directory")


def test_stopped_container_is_mounted_for_the_copy_only(bb, tree, tmp_path):
    bb.ok("run", "--name", "stopped", IMAGE, "sh", "-c", "echo made-inside > /made")
    assert not mounts_under(bb.root)
    bb.ok("cp", "stopped:/made", str(tmp_path / "made"))
    assert (tmp_path / "made").read_text() == "made-inside\n"
    assert not mounts_under(bb.root), "cp left the stopped container's root mounted"
    bb.ok("cp", str(tree / "a.txt"), "stopped:/added")
    assert not mounts_under(bb.root)
    # The change is in the container's own layer: the next start sees it.
    bb.ok("start", "stopped")
    assert bb.ok("run", "--rm", IMAGE, "sh", "-c", "test -e /added || echo clean").stdout == "clean\n"
    r = bb.ok("cp", "stopped:/added", "-", input=b"")
    with tarfile.open(fileobj=io.BytesIO(r.stdout)) as t:
        assert t.extractfile("added").read() == b"alpha\n"


def test_symlinks_never_leave_the_container_root(bb, tmp_path):
    hostdir = tempfile.mkdtemp(prefix="c1-escape-", dir="/tmp")
    try:
        with open(os.path.join(hostdir, "secret"), "w") as f:
            f.write("host secret\n")
        run_d(bb, "--name", "esc", IMAGE, "sleep", "300")
        # Links that would point at the host's directory from the host's point of view.
        sh(bb, "esc", "mkdir -p %s && echo container copy > %s/secret && ln -s %s /abs && ln -s ../../../..%s /rel"
           % (hostdir, hostdir, hostdir, hostdir))
        bb.ok("cp", "esc:/abs/secret", str(tmp_path / "s1"))
        bb.ok("cp", "esc:/rel/secret", str(tmp_path / "s2"))
        assert (tmp_path / "s1").read_text() == "container copy\n"
        assert (tmp_path / "s2").read_text() == "container copy\n"
        src = tmp_path / "payload"
        src.write_text("payload\n")
        bb.ok("cp", str(src), "esc:/abs/")
        bb.ok("cp", str(src), "esc:/rel/dropped")
        assert sorted(os.listdir(hostdir)) == ["secret"], "a copy escaped into the host"
        assert sh(bb, "esc", "cat %s/payload %s/dropped" % (hostdir, hostdir)) == "payload\npayload\n"
    finally:
        shutil.rmtree(hostdir, ignore_errors=True)
