"""`servin import`: rootfs tarballs (plain, compressed, stdin, URL) become one-layer images."""

import functools
import gzip
import hashlib
import http.server
import io
import json
import os
import re
import subprocess
import tarfile
import threading

import pytest

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUSYBOX = "/bin/busybox"


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def rootfs_tar(applets=("sh", "ls", "echo", "cat")):
    """A tiny root filesystem: bin/busybox from busybox-static plus a few applet symlinks."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        def add(name, kind, mode, data=b"", link=""):
            ti = tarfile.TarInfo(name)
            ti.type, ti.mode, ti.mtime, ti.uid, ti.gid = kind, mode, 1700000000, 0, 0
            ti.linkname = link
            ti.size = len(data) if kind == tarfile.REGTYPE else 0
            t.addfile(ti, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
        add("bin/", tarfile.DIRTYPE, 0o755)
        add("etc/", tarfile.DIRTYPE, 0o755)
        with open(BUSYBOX, "rb") as f:
            add("bin/busybox", tarfile.REGTYPE, 0o755, f.read())
        for a in applets:
            add("bin/" + a, tarfile.SYMTYPE, 0o777, link="busybox")
        add("etc/passwd", tarfile.REGTYPE, 0o644, b"root:x:0:0:root:/root:/bin/sh\n")
    return buf.getvalue()


@pytest.fixture(scope="module")
def rootfs():
    return rootfs_tar()


def image_ids(servin):
    return sorted(servin.lines("images", "-q", "--no-trunc"))


def layer_dir(servin, chain_id):
    return os.path.join(servin.root, "layers", chain_id.split(":", 1)[1], "diff")


def test_import_with_changes(servin, tmp_path, rootfs):
    src = tmp_path / "rootfs.tar"
    src.write_bytes(rootfs)
    r = servin.ok("import", "--change", 'CMD ["sh"]', "-c", "ENV A=1 B=two", "-c", "WORKDIR /srv",
                  "-c", 'LABEL org.example.name="servin test"', "-c", "EXPOSE 8080/tcp", "-c", "USER nobody",
                  "-c", "ENTRYPOINT /bin/busybox", "-m", "imported for a test", str(src), "localhost/bb:1")
    image_id = r.stdout.strip()
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", image_id), r.stdout

    [info] = servin.json("image", "inspect", "localhost/bb:1")
    assert info["Id"] == image_id
    assert info["RepoTags"] == ["localhost/bb:1"]
    cfg = info["Config"]
    assert cfg["Cmd"] == ["sh"]
    assert cfg["Entrypoint"] == ["/bin/sh", "-c", "/bin/busybox"]
    assert cfg["Env"] == ["A=1", "B=two"]
    assert cfg["WorkingDir"] == "/srv"
    assert cfg["Labels"] == {"org.example.name": "servin test"}
    assert cfg["ExposedPorts"] == {"8080/tcp": {}}
    assert cfg["User"] == "nobody"
    assert info["Architecture"] == "amd64" and info["Os"] == "linux"
    # The one layer's diff_id is the digest of the tar exactly as given.
    assert info["RootFS"]["Layers"] == [sha256(rootfs)]

    d = layer_dir(servin, sha256(rootfs))
    assert os.path.isfile(os.path.join(d, "bin", "busybox"))
    assert os.readlink(os.path.join(d, "bin", "sh")) == "busybox"

    # The history and the creation time are in the config blob itself.
    config_path = os.path.join(servin.root, "content", "blobs", "sha256", image_id.split(":", 1)[1])
    with open(config_path, "rb") as f:
        config = json.load(f)
    assert sha256(open(config_path, "rb").read()) == image_id
    assert config["history"][0]["comment"] == "imported for a test"
    assert config["history"][0]["created_by"] == "import"
    assert config["rootfs"] == {"type": "layers", "diff_ids": [sha256(rootfs)]}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", config["created"])


def test_import_without_changes_leaves_env_empty(servin, tmp_path, rootfs):
    src = tmp_path / "rootfs.tar"
    src.write_bytes(rootfs)
    image_id = servin.ok("import", str(src)).stdout.strip()
    [info] = servin.json("image", "inspect", image_id)
    assert not info["Config"].get("Env")
    assert not info["Config"].get("Cmd")
    assert info["RepoTags"] == []


@pytest.mark.parametrize("compress", ["gzip", "zstd", "none"])
def test_import_compressed_from_stdin(servin, rootfs, compress):
    if compress == "gzip":
        data = gzip.compress(rootfs)
    elif compress == "zstd":
        data = subprocess.run(["zstd", "-q", "-c"], input=rootfs, stdout=subprocess.PIPE, check=True).stdout
    else:
        data = rootfs
    image_id = servin.ok("import", "-", "stdin:" + compress, input=data).stdout.decode().strip()
    [info] = servin.json("image", "inspect", "stdin:" + compress)
    assert info["Id"] == image_id
    # Whatever the input compression, the diff_id is the digest of the uncompressed tar.
    assert info["RootFS"]["Layers"] == [sha256(rootfs)]
    assert os.path.isfile(os.path.join(layer_dir(servin, sha256(rootfs)), "bin", "busybox"))


def test_import_platform(servin, tmp_path, rootfs):
    src = tmp_path / "rootfs.tar"
    src.write_bytes(rootfs)
    servin.ok("import", "--platform", "linux/arm64", str(src), "arm:1")
    [info] = servin.json("image", "inspect", "arm:1")
    assert info["Architecture"] == "arm64"
    r = servin.fail("import", "--platform", "windows/amd64", str(src), "win:1")
    assert "platform" in r.stderr
    r = servin.fail("import", "--platform", "linux", str(src), "win:1")
    assert "platform" in r.stderr


def test_import_busybox_rootfs_like_setup(servin, tmp_path):
    """What scripts/setup does with the rootfs from scripts/make-busybox-rootfs."""
    out = tmp_path / "busybox-rootfs.tar"
    subprocess.run(["sh", os.path.join(REPO_ROOT, "scripts", "make-busybox-rootfs"), str(out)], check=True)
    servin.ok("import", "--change", 'CMD ["sh"]', str(out), "localhost/busybox:latest")
    [info] = servin.json("image", "inspect", "localhost/busybox:latest")
    assert info["Config"]["Cmd"] == ["sh"]
    assert info["RootFS"]["Layers"] == [sha256(out.read_bytes())]
    d = layer_dir(servin, info["RootFS"]["Layers"][0])
    assert os.path.isfile(os.path.join(d, "bin", "busybox"))
    assert os.path.islink(os.path.join(d, "bin", "sh"))


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass


def test_import_from_url(servin, tmp_path, rootfs):
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "rootfs.tar.gz").write_bytes(gzip.compress(rootfs))
    handler = functools.partial(_Quiet, directory=str(tmp_path / "www"))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        base = "http://127.0.0.1:%d" % srv.server_address[1]
        servin.ok("import", "-c", "CMD [\"sh\"]", base + "/rootfs.tar.gz", "fromurl:1")
        [info] = servin.json("image", "inspect", "fromurl:1")
        assert info["RootFS"]["Layers"] == [sha256(rootfs)]
        r = servin.fail("import", base + "/missing.tar", "fromurl:2")
        assert "404" in r.stderr
    finally:
        srv.shutdown()
        srv.server_close()
    assert image_ids(servin) == [info["Id"]]


def test_import_bad_input_changes_nothing(servin, tmp_path, rootfs):
    good = tmp_path / "rootfs.tar"
    good.write_bytes(rootfs)
    servin.ok("import", str(good), "keep:1")
    before = image_ids(servin)

    r = servin.fail("import", "-c", "RUN echo hi", str(good), "bad:1", code=125)
    assert "RUN is not a valid change command" in r.stderr
    r = servin.fail("import", "-c", "EXPOSE notaport", str(good), "bad:1")
    assert "EXPOSE" in r.stderr
    r = servin.fail("import", str(tmp_path / "missing.tar"), "bad:1")
    assert "missing.tar" in r.stderr
    r = servin.fail("import", str(good), "Bad:Tag")
    assert "Bad:Tag" in r.stderr
    empty = tmp_path / "empty.tar"
    empty.write_bytes(b"")
    r = servin.fail("import", str(empty), "bad:1")
    assert "empty" in r.stderr
    junk = tmp_path / "junk.tar"
    junk.write_bytes(os.urandom(3000))
    servin.fail("import", str(junk), "bad:1")
    trunc = tmp_path / "trunc.tar.gz"
    trunc.write_bytes(gzip.compress(rootfs)[:5000])
    servin.fail("import", str(trunc), "bad:1")
    servin.fail("import")
    servin.fail("import", "a", "b", "c")
    r = servin.fail("import", "ftp://127.0.0.1/x.tar")
    assert image_ids(servin) == before
