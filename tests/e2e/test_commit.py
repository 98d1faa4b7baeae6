"""`servin commit`: a new image from a container's upper dir (deletions as OCI whiteouts, opaque
directories), -m, -a, -c, --pause, config and history; then running the new image shows the
change.  Fixtures come from test_run.py."""

import io
import json
import os
import re
import tarfile
import time

import pytest

from test_run import IMAGE, bb, busybox_rootfs, short_servin  # noqa: F401

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")


def test_commit_then_run_the_new_image(bb, tmp_path):
    bb.ok("run", "--name", "changer", "-e", "FROM_RUN=1", "-w", "/etc", IMAGE, "sh", "-c",
          "echo hello > /greeting; rm /bin/ls; rm -rf /usr; mkdir -p /usr/only; echo z > /usr/only/z")
    out = bb.ok("commit", "-m", "add a greeting", "-a", "Ann <ann@example.com>",
                "-c", 'CMD ["cat", "/greeting"]', "-c", "ENV FROM_CHANGE=2", "changer", "localhost/greeter:v1").stdout
    image_id = out.strip()
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", image_id)
    # The new image runs its new CMD and has the container's changes, deletions included.
    assert bb.ok("run", "--rm", "localhost/greeter:v1").stdout == "hello\n"
    r = bb.ok("run", "--rm", "localhost/greeter:v1", "sh", "-c",
              "test -e /bin/ls || echo ls-gone; ls /usr; echo $FROM_RUN $FROM_CHANGE; pwd")
    assert r.stdout == "ls-gone\nonly\n1 2\n/etc\n"
    # The base image is untouched.
    assert bb.ok("run", "--rm", IMAGE, "sh", "-c", "test -e /bin/ls && ls /usr | wc -l").stdout.strip() != "1"
    [info] = bb.json("image", "inspect", "localhost/greeter:v1")
    assert info["Id"] == image_id
    assert info["Author"] == "Ann <ann@example.com>" and info["Comment"] == "add a greeting"
    assert info["Config"]["Cmd"] == ["cat", "/greeting"]
    assert "FROM_CHANGE=2" in info["Config"]["Env"] and "FROM_RUN=1" in info["Config"]["Env"]
    assert len(info["RootFS"]["Layers"]) == 2
    hist = bb.lines("history", "--no-trunc", "--format", "{{.CreatedBy}}|{{.Comment}}", "localhost/greeter:v1")
    assert hist[0].startswith("sh -c echo hello > /greeting") and hist[0].endswith("|add a greeting")
    assert len(hist) == 2
    # The layer is an OCI layer: the deletion is a .wh. file and /usr an opaque directory.
    archive = tmp_path / "greeter.tar"
    bb.ok("save", "-o", str(archive), "localhost/greeter:v1")
    with tarfile.open(archive) as t:
        index = json.load(t.extractfile("index.json"))
        manifest = json.load(t.extractfile("blobs/sha256/" + index["manifests"][0]["digest"].split(":")[1]))
        top = manifest["layers"][-1]["digest"].split(":")[1]
        with tarfile.open(fileobj=io.BytesIO(t.extractfile("blobs/sha256/" + top).read())) as layer:
            names = set(n.lstrip("./") for n in layer.getnames())
    assert "bin/.wh.ls" in names and "usr/.wh..wh..opq" in names and "usr/only/z" in names
    assert "greeting" in names and "bin/busybox" not in names


def test_commit_running_container_pauses_by_default_and_keeps_it_running(bb):
    cid = bb.ok("run", "-d", "--name", "live", IMAGE, "sh", "-c", "echo 1 > /state; sleep 300").stdout.strip()
    for _ in range(100):
        if bb("exec", "live", "cat", "/state", check=False).stdout == "1\n":
            break
        time.sleep(0.1)
    image_id = bb.ok("commit", "live").stdout.strip()
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", image_id)
    assert bb.ok("inspect", "-f", "{{.State.Status}}", "live").stdout == "running\n"
    # Untagged: usable by id.
    assert bb.ok("run", "--rm", image_id[7:19], "cat", "/state").stdout == "1\n"
    bb.ok("commit", "--pause=false", "live", "localhost/nopause")
    assert bb.ok("inspect", "-f", "{{.State.Status}}", "live").stdout == "running\n"
    assert bb.ok("run", "--rm", "localhost/nopause", "cat", "/state").stdout == "1\n"
    assert cid


def test_commit_errors_leave_no_image(bb):
    bb.ok("run", "--name", "src", IMAGE, "true")
    before = bb.lines("images", "-q")
    r = bb.fail("commit", "-c", "FROBNICATE yes", "src", "localhost/bad")
    assert "FROBNICATE" in r.stderr
    bb.fail("commit", "src", "Bad/Upper:Case")
    bb.fail("commit", "nosuch")
    bb.fail("commit", "--pause=maybe", "src")
    assert bb.lines("images", "-q") == before
