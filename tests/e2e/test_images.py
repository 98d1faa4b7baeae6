"""End-to-end tests of the image commands: images/ls, inspect, history, tag, rmi, prune."""

import io
import json
import os
import re
import tarfile

import pytest


def rootfs_tar(path, files):
    """A small rootfs tarball: {name: bytes}."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = 1700000000
            t.addfile(ti, io.BytesIO(data))
    with open(path, "wb") as f:
        f.write(buf.getvalue())
    return str(path)


def import_image(servin, ref, content=b"hello\n"):
    path = os.path.join(servin.tmp, "rootfs-%d.tar" % len(os.listdir(servin.tmp)))
    rootfs_tar(path, {"etc/hello": content, "bin/tool": b"#!/bin/sh\n" + content})
    out = servin.ok("import", path, *([ref] if ref else [])).stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", out), out
    return out


def table(servin, *args):
    """Rows of a servin table as lists of cells (split on runs of 3+ spaces)."""
    lines = servin.lines(*args)
    return [re.split(r"\s{3,}", l.strip()) for l in lines]


def store_entries(servin):
    out = {}
    for sub in ("layers", "content/blobs/sha256"):
        d = os.path.join(servin.root, sub)
        out[sub] = sorted(os.listdir(d)) if os.path.isdir(d) else []
    return out


def snapshot(servin):
    """What a failed command must not change (CREATED moves on by itself, so it is left out)."""
    rows = sorted(servin.lines("images", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}"))
    return rows, store_entries(servin)


def test_empty_store_lists_header_only(servin):
    rows = table(servin, "images")
    assert rows == [["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]]
    assert servin.ok("images", "-q").stdout == ""
    assert servin.ok("image", "ls", "--format", "json").stdout == ""


def test_list_tags_familiar_names_and_filters(servin):
    image_id = import_image(servin, "busybox:1")
    servin.ok("tag", "busybox:1", "busybox")
    servin.ok("tag", image_id, "localhost/busybox:2")
    other = import_image(servin, "docker.io/library/alpine:3", b"other\n")

    rows = table(servin, "images")
    assert rows[0] == ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]
    pairs = sorted((r[0], r[1], r[2]) for r in rows[1:])
    short = image_id[7:19]
    assert pairs == sorted([("busybox", "1", short), ("busybox", "latest", short),
                            ("localhost/busybox", "2", short), ("alpine", "3", other[7:19])])

    # -q: one id per image, not per tag.
    assert sorted(servin.lines("images", "-q")) == sorted([short, other[7:19]])
    assert sorted(servin.lines("images", "-q", "--no-trunc")) == sorted([image_id, other])

    # Positional REPOSITORY[:TAG] and reference filters.
    assert sorted(r[1] for r in table(servin, "images", "busybox")[1:]) == ["1", "latest"]
    assert [r[1] for r in table(servin, "images", "busybox:1")[1:]] == ["1"]
    assert servin.lines("images", "-q", "--filter", "reference=alp*") == [other[7:19]]
    assert servin.lines("images", "-q", "-f", "reference=localhost/*") == [short]
    assert servin.lines("images", "-q", "-f", "reference=docker.io/library/alpine:3") == [other[7:19]]
    assert servin.lines("images", "-q", "-f", "reference=nomatch") == []
    assert servin.lines("images", "-q", "-f", "dangling=true") == []
    assert sorted(servin.lines("images", "-q", "-f", "dangling=false")) == sorted([short, other[7:19]])

    # Go templates and JSON lines.
    assert sorted(servin.lines("images", "--format", "{{.Repository}}:{{.Tag}}")) == sorted(
        ["busybox:1", "busybox:latest", "localhost/busybox:2", "alpine:3"])
    t = table(servin, "images", "--format", "table {{.Repository}}\t{{.Tag}}", "alpine")
    assert t == [["REPOSITORY", "TAG"], ["alpine", "3"]]
    objs = [json.loads(l) for l in servin.lines("images", "--format", "json")]
    assert len(objs) == 4
    for o in objs:
        assert set(o) >= {"ID", "Repository", "Tag", "Digest", "CreatedSince", "CreatedAt", "Size"}
        assert o["Digest"] == "<none>"
        assert re.fullmatch(r"[0-9.]+k?M?B", o["Size"]), o["Size"]


def test_moved_tag_leaves_dangling_image(servin):
    first = import_image(servin, "app:1", b"one\n")
    second = import_image(servin, "app:1", b"two\n")
    rows = table(servin, "images")[1:]
    assert sorted((r[0], r[1], r[2]) for r in rows) == sorted(
        [("app", "1", second[7:19]), ("<none>", "<none>", first[7:19])])
    assert servin.lines("images", "-q", "-f", "dangling=true") == [first[7:19]]


def test_bad_filters_and_arguments_fail_cleanly(servin):
    import_image(servin, "x:1")
    before = snapshot(servin)
    servin.fail("images", "-f", "bogus=1", code=125)
    servin.fail("images", "-f", "dangling=maybe", code=125)
    servin.fail("images", "-f", "novalue", code=125)
    servin.fail("images", "--format", "{{.Nope", code=125)
    servin.fail("images", "a", "b", code=125)
    assert snapshot(servin) == before


def test_pulled_image_digests_and_inspect(servin, pushed):
    p = pushed["busybox"]
    servin.ok("pull", "-q", p.ref)
    rows = table(servin, "images", "--digests")
    assert rows[0] == ["REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE"]
    assert rows[1][:4] == [p.repo, "latest", p.digest, p.image_id[7:19]]

    info = servin.json("image", "inspect", p.ref)
    assert isinstance(info, list) and len(info) == 1
    i = info[0]
    assert i["Id"] == p.image_id
    assert i["RepoTags"] == [p.ref]
    assert i["RepoDigests"] == ["%s@%s" % (p.repo, p.digest)]
    assert i["RootFS"] == {"Type": "layers", "Layers": p.image.diff_ids}
    assert i["Config"]["Cmd"] == ["sh"]
    assert i["Architecture"] == "amd64" and i["Os"] == "linux"
    assert i["Created"] == "2023-11-14T22:13:20Z"
    assert i["Parent"] == ""
    assert i["GraphDriver"]["Name"] == "overlay"
    assert os.path.isdir(i["GraphDriver"]["Data"]["UpperDir"])
    assert i["Size"] > 0
    assert "LastTagTime" in i["Metadata"]

    # Every way of naming the image finds the same one.
    for name in (p.ref, p.repo, "%s@%s" % (p.repo, p.digest), p.image_id, p.image_id[7:], p.image_id[7:19]):
        assert servin.ok("image", "inspect", "-f", "{{.Id}}", name).stdout.strip() == p.image_id, name

    # One missing among found ones: the found ones print, the command fails.
    r = servin.fail("image", "inspect", "-f", "{{.Id}}", p.ref, "nothere")
    assert r.stdout.strip() == p.image_id
    assert "No such image: nothere" in r.stderr


def test_history(servin, pushed):
    p = pushed["multilayer"]
    servin.ok("pull", "-q", p.ref)
    rows = table(servin, "history", p.ref)
    assert rows[0] == ["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"]
    n = len(p.image.config_json["history"])
    assert len(rows) == 1 + n
    assert rows[1][0] == p.image_id[7:19]
    assert all(r[0] == "<missing>" for r in rows[2:])
    assert servin.lines("history", "-q", p.ref)[0] == p.image_id[7:19]
    objs = [json.loads(l) for l in servin.lines("history", "--format", "json", "--no-trunc", p.ref)]
    assert [o["CreatedBy"] for o in objs] == [h["created_by"] for h in reversed(p.image.config_json["history"])]
    assert objs[0]["ID"] == p.image_id
    raw = servin.lines("history", "-H=false", "--format", "{{.Size}}", p.ref)
    assert all(s.isdigit() for s in raw) and sum(int(s) for s in raw) > 0
    servin.fail("history", "nothere", code=125)


def test_tag_errors_leave_store_unchanged(servin):
    import_image(servin, "src:1")
    before = snapshot(servin)
    r = servin.fail("tag", "src:1", "Bad:x", code=125)
    assert "invalid reference format" in r.stderr
    servin.fail("tag", "nothere", "dst:1", code=125)
    servin.fail("tag", "src:1", "dst@sha256:" + "0" * 64, code=125)
    servin.fail("tag", "src:1", code=125)
    assert snapshot(servin) == before


def test_rmi_untags_then_deletes_and_frees_layers(servin):
    image_id = import_image(servin, "keep:1")
    servin.ok("tag", "keep:1", "localhost/keep:2")

    r = servin.fail("rmi", image_id[7:19], code=125)
    assert "image is referenced in multiple repositories" in r.stderr

    assert servin.lines("rmi", "localhost/keep:2") == ["Untagged: localhost/keep:2"]
    assert servin.lines("images", "-q") == [image_id[7:19]]

    assert store_entries(servin)["layers"] != []
    assert servin.lines("rmi", "keep:1") == ["Untagged: keep:1", "Deleted: " + image_id]
    assert servin.lines("images", "-q") == []
    assert store_entries(servin) == {"layers": [], "content/blobs/sha256": []}


def test_rmi_force_by_id_and_several_arguments(servin):
    a = import_image(servin, "a:1", b"a\n")
    servin.ok("tag", "a:1", "b:1")
    out = servin.lines("rmi", "-f", a)
    assert sorted(out) == sorted(["Untagged: a:1", "Untagged: b:1", "Deleted: " + a])

    c = import_image(servin, "c:1", b"c\n")
    r = servin.fail("rmi", "nothere", "c:1", code=125)
    assert "No such image: nothere" in r.stderr
    assert "Deleted: " + c in r.stdout
    assert servin.lines("images", "-q") == []


def test_rmi_keeps_layers_another_image_shares(servin):
    # The same rootfs imported twice gives two images sharing one layer.
    path = rootfs_tar(os.path.join(servin.tmp, "shared.tar"), {"etc/shared": b"shared\n"})
    servin.ok("import", path, "one:1")
    servin.ok("import", "--message", "second", path, "two:1")
    layers = store_entries(servin)["layers"]
    assert len(layers) == 1
    servin.ok("rmi", "one:1")
    assert store_entries(servin)["layers"] == layers
    servin.ok("image", "inspect", "two:1")
    servin.ok("rmi", "two:1")
    assert store_entries(servin)["layers"] == []


def test_prune(servin):
    dangling = import_image(servin, "p:1", b"old\n")
    tagged = import_image(servin, "p:1", b"new\n")

    # Without -f it asks; "n" keeps everything.
    r = servin("image", "prune", input="n\n")
    assert r.returncode == 0
    assert "WARNING! This will remove all dangling images." in r.stderr
    assert len(servin.lines("images", "-q")) == 2

    out = servin.ok("image", "prune", "-f").stdout
    assert "Deleted Images:\ndeleted: " + dangling in out
    assert re.search(r"Total reclaimed space: [0-9.]+k?M?B\n$", out), out
    assert servin.lines("images", "-q") == [tagged[7:19]]

    # Nothing dangling left: nothing deleted.
    out = servin.ok("image", "prune", "-f").stdout
    assert out == "Total reclaimed space: 0B\n"

    out = servin.ok("image", "prune", "-a", "-f").stdout
    assert "untagged: p:1" in out and "deleted: " + tagged in out
    assert servin.lines("images", "-q") == []
    assert store_entries(servin) == {"layers": [], "content/blobs/sha256": []}


def test_unknown_image_errors(servin):
    for args in (("rmi", "nothere"), ("image", "inspect", "nothere"), ("history", "nothere"),
                 ("tag", "nothere", "x")):
        r = servin.fail(*args)
        assert "No such image: nothere" in r.stderr, args
    r = servin.fail("image", "inspect", "nothere")
    assert json.loads(r.stdout) == []
