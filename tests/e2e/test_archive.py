"""`servin save` and `servin load`: OCI layout / docker-archive tarballs, round trips, bad archives."""

import gzip
import hashlib
import io
import json
import os
import pty
import subprocess
import tarfile

import pytest

import imagebuild


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def members(path_or_bytes):
    """{name: bytes} of the regular files of a tar archive."""
    if isinstance(path_or_bytes, (bytes, bytearray)):
        t = tarfile.open(fileobj=io.BytesIO(path_or_bytes))
    else:
        t = tarfile.open(str(path_or_bytes))
    with t:
        return {m.name: t.extractfile(m).read() for m in t.getmembers() if m.isfile()}


def write_tar(path, files):
    """files: list of (name, bytes) regular files, written in order."""
    with tarfile.open(str(path), "w", format=tarfile.PAX_FORMAT) as t:
        for name, data in files:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = 1700000000
            t.addfile(ti, io.BytesIO(data))


def image_ids(servin):
    return sorted(servin.lines("images", "-q", "--no-trunc"))


def inspect(servin, ref):
    [info] = servin.json("image", "inspect", ref)
    info.pop("Metadata", None)  # LastTagTime changes when a tag is made again
    return info


def tmp_leftovers(servin):
    d = os.path.join(servin.root, "tmp")
    return os.listdir(d) if os.path.isdir(d) else []


def test_save_rm_load_round_trip(servin, pushed, tmp_path):
    bb, ml = pushed["busybox"], pushed["multilayer"]
    servin.ok("pull", "-q", bb.ref)
    servin.ok("pull", "-q", ml.ref)
    servin.ok("tag", bb.ref, "localhost/second:tag")
    before = {r: inspect(servin, r) for r in (bb.ref, ml.ref)}
    assert before[bb.ref]["RepoDigests"], "a pulled image has a repo digest"

    out = tmp_path / "two.tar"
    servin.ok("save", "-o", str(out), bb.ref, ml.ref, "localhost/second:tag")
    assert sorted(os.listdir(tmp_path)) == ["servin", "two.tar"], "no temp file is left beside the archive"
    files = members(out)
    # Every blob is stored under its own digest, once, with the original bytes.
    for name, data in files.items():
        if name.startswith("blobs/sha256/"):
            assert sha256(data) == "sha256:" + name.rsplit("/", 1)[1]
    assert files["blobs/sha256/" + bb.image.manifest_digest.split(":")[1]] == bb.image.manifest
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads(files["index.json"])
    names = sorted(d["annotations"]["io.containerd.image.name"] for d in index["manifests"])
    assert names == sorted([bb.ref, ml.ref, "localhost/second:tag"])
    for d in index["manifests"]:
        assert d["annotations"]["org.opencontainers.image.ref.name"] == "latest" or \
            d["annotations"]["io.containerd.image.name"] == "localhost/second:tag"
    docker = json.loads(files["manifest.json"])
    assert len(docker) == 2
    by_config = {e["Config"]: e for e in docker}
    e = by_config["blobs/sha256/" + bb.image_id.split(":")[1]]
    assert sorted(e["RepoTags"]) == sorted([bb.ref, "localhost/second:tag"])
    assert e["Layers"] == ["blobs/sha256/" + d.split(":")[1] for d in bb.image.layer_digests]
    assert "repositories" in files

    servin.ok("rmi", bb.ref, ml.ref, "localhost/second:tag")
    assert image_ids(servin) == []

    lines = servin.lines("load", "-i", str(out))
    assert sorted(lines) == sorted("Loaded image: " + r for r in (bb.ref, ml.ref, "localhost/second:tag"))
    for r in (bb.ref, ml.ref):
        assert inspect(servin, r) == before[r]
    assert image_ids(servin) == sorted([bb.image_id, ml.image_id])
    assert tmp_leftovers(servin) == []
    # The multilayer image's whiteouts, links and opaque dirs came through the archive intact.
    layer_dirs = [os.path.join(servin.root, "layers", c.split(":")[1], "diff")
                  for c in _chain_ids(ml.image.diff_ids)]
    with imagebuild.merged_view(layer_dirs, tmp_path) as root:
        assert imagebuild.rootfs_problems(root, ml.image) == []


def _chain_ids(diff_ids):
    out, prev = [], None
    for d in diff_ids:
        prev = d if prev is None else sha256(("%s %s" % (prev, d)).encode())
        out.append(prev)
    return out


def test_save_to_stdout_and_load_from_stdin(servin, make_servin, pushed):
    bb = pushed["busybox"]
    servin.ok("pull", "-q", bb.ref)
    r = servin("save", bb.ref, input=b"")
    assert r.returncode == 0, r.stderr
    assert members(r.stdout)["manifest.json"]
    other = make_servin()
    out = other("load", input=r.stdout)
    assert out.returncode == 0, out.stderr
    assert out.stdout.decode().splitlines() == ["Loaded image: " + bb.ref]
    assert image_ids(other) == [bb.image_id]
    # -q loads silently.
    third = make_servin()
    out = third("load", "-q", input=r.stdout)
    assert out.returncode == 0 and out.stdout == b""
    assert image_ids(third) == [bb.image_id]


def test_save_by_id_is_untagged(servin, make_servin, pushed, tmp_path):
    bb = pushed["busybox"]
    servin.ok("pull", "-q", bb.ref)
    out = tmp_path / "byid.tar"
    servin.ok("save", bb.image_id[7:19], "-o", str(out))
    docker = json.loads(members(out)["manifest.json"])
    assert docker[0]["RepoTags"] is None
    other = make_servin()
    assert other.lines("load", "-i", str(out)) == ["Loaded image ID: " + bb.image_id]
    [info] = other.json("image", "inspect", bb.image_id)
    assert info["RepoTags"] == []


def test_save_oci_archive_is_readable_by_skopeo(servin, pushed, tmp_path):
    bb = pushed["busybox"]
    servin.ok("pull", "-q", bb.ref)
    out = tmp_path / "oci.tar"
    servin.ok("save", "--format", "oci-archive", "-o", str(out), bb.ref)
    files = members(out)
    assert "manifest.json" not in files and "index.json" in files
    raw = subprocess.run(["skopeo", "inspect", "--raw", "oci-archive:%s:latest" % out],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True).stdout
    assert sha256(raw) == bb.image.manifest_digest


def skopeo_to_archive(src, dest, *extra):
    subprocess.run(["skopeo", "copy", "--quiet", "--src-tls-verify=false", *extra, "docker://" + src, dest],
                   check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_load_oci_archive_from_skopeo(servin, pushed, tmp_path):
    bb = pushed["busybox"]
    out = tmp_path / "skopeo.tar"
    skopeo_to_archive(bb.ref, "oci-archive:%s:localhost/fromskopeo:1" % out)
    assert servin.lines("load", "-i", str(out)) == ["Loaded image: localhost/fromskopeo:1"]
    info = inspect(servin, "localhost/fromskopeo:1")
    assert info["Id"] == bb.image_id
    assert info["RootFS"]["Layers"] == bb.image.diff_ids
    d = os.path.join(servin.root, "layers", bb.image.diff_ids[0].split(":")[1], "diff")
    assert os.path.isfile(os.path.join(d, "bin", "busybox"))


def test_load_multiarch_oci_archive_picks_host_platform(servin, pushed, tmp_path):
    ma = pushed["multiarch"]
    out = tmp_path / "multi.tar"
    skopeo_to_archive(ma.ref, "oci-archive:%s:localhost/multi:1" % out, "--all")
    assert servin.lines("load", "-i", str(out)) == ["Loaded image: localhost/multi:1"]
    info = inspect(servin, "localhost/multi:1")
    amd64 = ma.image.images["linux/amd64"]
    assert info["Id"] == amd64.config_digest
    assert info["Architecture"] == "amd64"


def legacy_archive(path, tags):
    """A pre-Docker-25 docker-archive: <id>.json config, <id>/layer.tar (one plain, one gzipped)."""
    t1 = imagebuild.Tar()
    t1.dir("etc")
    t1.file("etc/one", b"first layer\n")
    t1.file("etc/gone", b"removed by layer 2\n")
    layer1 = t1.bytes()
    t2 = imagebuild.Tar()
    t2.dir("etc")
    t2.file("etc/two", b"second layer\n")
    t2.whiteout("etc/gone")
    layer2 = t2.bytes()
    config = json.dumps({"architecture": "amd64", "os": "linux", "created": "2023-11-14T22:13:20Z",
                         "config": {"Cmd": ["sh"], "Env": ["PATH=/bin"]},
                         "rootfs": {"type": "layers", "diff_ids": [sha256(layer1), sha256(layer2)]}}).encode()
    cid = sha256(config).split(":")[1]
    files = [("%s.json" % cid, config),
             ("aaaa/layer.tar", layer1), ("aaaa/VERSION", b"1.0"), ("aaaa/json", b"{}"),
             ("bbbb/layer.tar", gzip.compress(layer2)),
             ("manifest.json", json.dumps([{"Config": "%s.json" % cid, "RepoTags": tags,
                                            "Layers": ["aaaa/layer.tar", "bbbb/layer.tar"]}]).encode()),
             ("repositories", b"{}")]
    write_tar(path, files)
    return sha256(config), layer1, layer2


def test_load_legacy_docker_archive(servin, tmp_path):
    out = tmp_path / "legacy.tar"
    image_id, layer1, layer2 = legacy_archive(out, ["legacy:1", "example.com/legacy/app:v2"])
    lines = servin.lines("load", "-i", str(out))
    assert lines == ["Loaded image: legacy:1", "Loaded image: example.com/legacy/app:v2"]
    info = inspect(servin, "legacy:1")
    assert info["Id"] == image_id
    assert info["RootFS"]["Layers"] == [sha256(layer1), sha256(layer2)]
    assert info["Config"]["Cmd"] == ["sh"]
    d1 = os.path.join(servin.root, "layers", sha256(layer1).split(":")[1], "diff")
    assert open(os.path.join(d1, "etc", "one"), "rb").read() == b"first layer\n"
    # The uncompressed layer was stored as it is, with the plain tar media type; saving it again
    # gives a manifest that says so.
    files = members(servin("save", "legacy:1", input=b"").stdout)
    index = json.loads(files["index.json"])
    manifest = json.loads(files["blobs/sha256/" + index["manifests"][0]["digest"].split(":")[1]])
    assert [l["mediaType"] for l in manifest["layers"]] == [imagebuild.MT_LAYER_TAR, imagebuild.MT_LAYER_GZIP]
    assert manifest["layers"][0]["digest"] == sha256(layer1)


def _symlinked_legacy(path, link_target):
    layer = imagebuild.Tar()
    layer.file("x", b"x\n")
    raw = layer.bytes()
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [sha256(raw), sha256(raw)]}}).encode()
    cid = sha256(config).split(":")[1]
    with tarfile.open(str(path), "w") as t:
        for name, data in (("%s.json" % cid, config), ("a/layer.tar", raw)):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
        ti = tarfile.TarInfo("b/layer.tar")
        ti.type, ti.linkname = tarfile.SYMTYPE, link_target
        t.addfile(ti)
        data = json.dumps([{"Config": "%s.json" % cid, "RepoTags": ["sym:1"],
                            "Layers": ["a/layer.tar", "b/layer.tar"]}]).encode()
        ti = tarfile.TarInfo("manifest.json")
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    return sha256(config)


def test_load_legacy_symlinked_layer(servin, tmp_path):
    """Old `docker save` links a repeated layer.tar to the first copy; links leaving the archive
    are refused."""
    ok = tmp_path / "ok.tar"
    image_id = _symlinked_legacy(ok, "../a/layer.tar")
    assert servin.lines("load", "-i", str(ok)) == ["Loaded image: sym:1"]
    assert image_ids(servin) == [image_id]
    bad = tmp_path / "bad.tar"
    _symlinked_legacy(bad, "/etc/passwd")
    servin.ok("rmi", "sym:1")
    r = servin.fail("load", "-i", str(bad))
    assert "outside the archive" in r.stderr
    assert image_ids(servin) == []


def test_load_truncated_archive_changes_nothing(servin, pushed, tmp_path):
    bb, ml = pushed["busybox"], pushed["multilayer"]
    servin.ok("pull", "-q", bb.ref)
    servin.ok("pull", "-q", ml.ref)
    out = tmp_path / "full.tar"
    servin.ok("save", "-o", str(out), ml.ref)
    servin.ok("rmi", ml.ref)
    before = image_ids(servin)
    data = out.read_bytes()
    # Cut inside a header, inside a blob, and exactly at a block boundary (no end-of-archive marker).
    for cut in (700, len(data) // 2, len(data) - 2000, 1024):
        bad = tmp_path / "cut.tar"
        bad.write_bytes(data[:cut])
        r = servin.fail("load", "-i", str(bad), code=125)
        assert "load: archive is truncated or corrupt" in r.stderr
        assert image_ids(servin) == before
        assert tmp_leftovers(servin) == []
    garbage = tmp_path / "garbage.tar"
    garbage.write_bytes(os.urandom(5000))
    servin.fail("load", "-i", str(garbage))
    assert image_ids(servin) == before


def test_load_corrupt_blob_changes_nothing(servin, pushed, tmp_path):
    bb = pushed["busybox"]
    servin.ok("pull", "-q", bb.ref)
    good = tmp_path / "good.tar"
    servin.ok("save", "-o", str(good), bb.ref)
    servin.ok("rmi", bb.ref)
    before = image_ids(servin)
    layer_name = "blobs/sha256/" + bb.image.layer_digests[0].split(":")[1]
    files = members(good)
    blob = bytearray(files[layer_name])
    blob[len(blob) // 2] ^= 0xFF
    files[layer_name] = bytes(blob)
    bad = tmp_path / "bad.tar"
    write_tar(bad, list(files.items()))
    r = servin.fail("load", "-i", str(bad))
    assert bb.image.layer_digests[0].split(":")[1] in r.stderr
    assert image_ids(servin) == before
    assert tmp_leftovers(servin) == []


def tar_dir(src, dest):
    with tarfile.open(str(dest), "w") as t:
        for name in sorted(os.listdir(str(src))):
            t.add(os.path.join(str(src), name), arcname=name)


def test_load_wrong_diff_ids_leaves_store_empty(servin, tmp_path):
    """A layout whose config lists other diff_ids than its layers: refused, and the blobs that
    entered the content store on the way are collected again."""
    layer = imagebuild.Tar()
    layer.file("hello.txt", b"hello\n")
    wrong = sha256(b"not the layer")
    imagebuild.write_image(tmp_path / "layout", [(layer.bytes(), imagebuild.MT_LAYER_GZIP)],
                           config_extra={"rootfs": {"type": "layers", "diff_ids": [wrong]}}, tag="latest")
    out = tmp_path / "wrong.tar"
    tar_dir(tmp_path / "layout", out)
    r = servin.fail("load", "-i", str(out))
    assert wrong in r.stderr or "diff" in r.stderr
    assert image_ids(servin) == []
    blobs = os.path.join(servin.root, "content", "blobs", "sha256")
    assert not os.path.isdir(blobs) or os.listdir(blobs) == []
    layers = os.path.join(servin.root, "layers")
    assert not os.path.isdir(layers) or os.listdir(layers) == []
    assert tmp_leftovers(servin) == []


def test_load_plain_oci_layout_without_names(servin, tmp_path):
    """An OCI layout whose index only says ref.name=latest names no repository: untagged."""
    layer = imagebuild.Tar()
    layer.file("hello.txt", b"hello\n")
    img = imagebuild.write_image(tmp_path / "layout", [(layer.bytes(), imagebuild.MT_LAYER_TAR)])
    out = tmp_path / "plain.tar"
    tar_dir(tmp_path / "layout", out)
    assert servin.lines("load", "-i", str(out)) == ["Loaded image ID: " + img.image_id]
    d = os.path.join(servin.root, "layers", img.diff_ids[0].split(":")[1], "diff")
    assert open(os.path.join(d, "hello.txt"), "rb").read() == b"hello\n"


def test_load_refuses_path_escape(servin, tmp_path):
    target = tmp_path / "escaped"
    evil = tmp_path / "evil.tar"
    with tarfile.open(str(evil), "w") as t:
        ti = tarfile.TarInfo("../../../../../../.." + str(target))
        ti.size = 4
        t.addfile(ti, io.BytesIO(b"evil"))
        ti = tarfile.TarInfo("manifest.json")
        ti.size = 2
        t.addfile(ti, io.BytesIO(b"[]"))
    r = servin.fail("load", "-i", str(evil))
    assert "outside" in r.stderr
    assert not target.exists()
    assert image_ids(servin) == []


def test_load_rejects_archive_without_index(servin, tmp_path):
    out = tmp_path / "plain.tar"
    write_tar(out, [("hello.txt", b"hi")])
    r = servin.fail("load", "-i", str(out))
    assert "not an image archive" in r.stderr
    r = servin.fail("load", "-i", str(tmp_path / "missing.tar"))
    assert "missing.tar" in r.stderr


def test_save_errors(servin, pushed, tmp_path):
    bb = pushed["busybox"]
    servin.ok("pull", "-q", bb.ref)
    out = tmp_path / "x.tar"
    r = servin.fail("save", "-o", str(out), bb.ref, "no-such-image:1", code=125)
    assert "no-such-image" in r.stderr
    assert not out.exists()
    assert sorted(os.listdir(tmp_path)) == ["servin"]
    r = servin.fail("save", "--format", "zip", "-o", str(out), bb.ref)
    assert "zip" in r.stderr
    servin.fail("save")
    # A tarball is never written to a terminal.
    master, slave = pty.openpty()
    try:
        p = servin.popen("save", bb.ref, stdout=slave)
        _, err = p.communicate(timeout=60)
        assert p.returncode == 125
        assert b"terminal" in err
    finally:
        os.close(master)
        os.close(slave)
