"""servin pull: from the plain registry, by tag and digest, multi-arch, zstd, --all-tags, and the errors."""

import json
import hashlib
import os

import imagebuild
import pytest


def blob_path(servin, digest):
    return os.path.join(servin.root, "content", "blobs", "sha256", digest.split(":", 1)[1])


def layer_dirs(servin, image):
    """The layers/<chain>/diff dirs of an imagebuild.Image, in order."""
    import hashlib
    chain, out = None, []
    for d in image.diff_ids:
        chain = d if chain is None else "sha256:" + hashlib.sha256((chain + " " + d).encode()).hexdigest()
        out.append(os.path.join(servin.root, "layers", chain.split(":", 1)[1], "diff"))
    return out


def image_ids(servin):
    return set(servin.lines("images", "-q", "--no-trunc"))


def blobs_in_store(servin):
    d = os.path.join(servin.root, "content", "blobs", "sha256")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def test_pull_by_tag(servin, pushed):
    p = pushed["busybox"]
    out = servin.lines("pull", p.ref)
    assert out[-1] == p.ref
    assert "Digest: %s" % p.digest in out
    assert "Status: Downloaded newer image for %s" % p.ref in out
    assert any(l.endswith(": Pull complete") for l in out)
    assert p.image_id in image_ids(servin)
    for d in layer_dirs(servin, p.image):
        assert os.path.isdir(d)
    assert imagebuild.rootfs_problems(layer_dirs(servin, p.image)[0], p.image) == []
    # Blobs are kept: manifest, config, layers.
    for d in [p.digest, p.image_id] + p.image.layer_digests:
        assert os.path.isfile(blob_path(servin, d)), d
    listed = servin.ok("images").stdout
    assert p.repo in listed and "latest" in listed


def test_pull_again_is_up_to_date(servin, pushed):
    p = pushed["busybox"]
    servin.ok("pull", "-q", p.ref)
    out = servin.lines("pull", p.ref)
    assert "Status: Image is up to date for %s" % p.ref in out
    assert any(l.endswith(": Already exists") for l in out)


def test_pull_quiet_prints_only_reference(servin, pushed):
    p = pushed["busybox"]
    assert servin.lines("pull", "-q", p.ref) == [p.ref]


def test_pull_by_digest(servin, pushed):
    p = pushed["multilayer"]
    ref = "%s@%s" % (p.repo, p.digest)
    out = servin.lines("pull", ref)
    assert out[-1] == ref
    assert p.image_id in image_ids(servin)
    dirs = layer_dirs(servin, p.image)
    assert len(dirs) == len(p.image.diff_ids) > 1
    for d in dirs:
        assert os.path.isdir(d)
    with imagebuild.merged_view(dirs, servin.tmp) as root:
        assert imagebuild.rootfs_problems(root, p.image) == []
    # The repo digest is recorded: the image resolves by name@digest.
    assert servin.ok("image", "inspect", "-f", "{{.Id}}", ref).stdout.strip() == p.image_id


def test_pull_by_wrong_digest_fails(servin, pushed):
    p = pushed["busybox"]
    bad = "sha256:" + "0" * 64
    r = servin.fail("pull", "%s@%s" % (p.repo, bad))
    assert "manifest unknown" in r.stderr.lower() or "not found" in r.stderr.lower()
    assert image_ids(servin) == set()


def test_pull_multiarch_default_platform(servin, pushed):
    p = pushed["multiarch"]
    servin.ok("pull", p.ref)
    amd = p.image.images["linux/amd64"]
    assert image_ids(servin) == {amd.config_digest}
    assert imagebuild.rootfs_problems(layer_dirs(servin, amd)[0], amd) == []
    # The index is kept too, and the repo digest is the index digest.
    assert os.path.isfile(blob_path(servin, p.digest))
    assert servin.ok("image", "inspect", "-f", "{{.Id}}", "%s@%s" % (p.repo, p.digest)).stdout.strip() == \
        amd.config_digest


def test_pull_multiarch_platform_flag(servin, pushed):
    p = pushed["multiarch"]
    servin.ok("pull", "--platform", "linux/arm64", p.ref)
    arm = p.image.images["linux/arm64"]
    assert image_ids(servin) == {arm.config_digest}
    with open(os.path.join(layer_dirs(servin, arm)[0], "etc", "arch")) as f:
        assert f.read() == "arm64\n"


def test_pull_multiarch_no_match_lists_platforms(servin, pushed):
    p = pushed["multiarch"]
    r = servin.fail("pull", "--platform", "linux/s390x", p.ref)
    assert "linux/s390x" in r.stderr and "linux/amd64" in r.stderr and "linux/arm64" in r.stderr
    assert image_ids(servin) == set()
    assert blobs_in_store(servin) == []


def test_pull_bad_platform(servin, pushed):
    r = servin.fail("pull", "--platform", "amd64", pushed["busybox"].ref)
    assert "platform" in r.stderr


def test_pull_zstd(servin, pushed):
    p = pushed["zstd"]
    servin.ok("pull", p.ref)
    assert p.image_id in image_ids(servin)
    with imagebuild.merged_view(layer_dirs(servin, p.image), servin.tmp) as root:
        assert imagebuild.rootfs_problems(root, p.image) == []


def test_pull_all_tags(servin, pushed, registry, layouts):
    repo = "%s/test/alltags" % registry.host
    imagebuild.push_layout(layouts["busybox"].layout, repo + ":one")
    imagebuild.push_layout(layouts["busybox"].layout, repo + ":two")
    imagebuild.push_layout(layouts["zstd"].layout, repo + ":three")
    out = servin.lines("pull", "--all-tags", repo)
    assert out[-1] == repo
    listed = servin.ok("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    assert sorted(t for t in listed if t.startswith(repo)) == sorted([repo + ":one", repo + ":two", repo + ":three"])
    assert image_ids(servin) == {layouts["busybox"].config_digest, layouts["zstd"].config_digest}


def test_pull_all_tags_with_tag_is_refused(servin, pushed):
    servin.fail("pull", "-a", pushed["busybox"].ref)


def test_pull_unknown_tag(servin, pushed):
    p = pushed["busybox"]
    r = servin.fail("pull", p.repo + ":nope")
    assert "manifest unknown" in r.stderr
    assert image_ids(servin) == set()


def test_pull_unknown_repo(servin, registry):
    r = servin.fail("pull", "%s/no/such:latest" % registry.host)
    assert "unknown" in r.stderr


def test_pull_unreachable_registry(servin):
    r = servin.fail("pull", "127.0.0.1:1/x")
    assert "pull 127.0.0.1:1/x: connect to 127.0.0.1:1: Connection refused" in r.stderr
    assert image_ids(servin) == set()


def test_pull_malformed_reference(servin):
    r = servin.fail("pull", "UPPER/Case")
    assert "UPPER/Case" in r.stderr
    servin.fail("pull", "a:b:c:d")
    assert not os.path.exists(os.path.join(servin.root, "servin.db"))


def test_pull_corrupt_blob(servin, fake_registry, layouts):
    img = layouts["busybox"]
    fake_registry.add_image("bad/img", "latest", img)
    # Serve different bytes of the same length under the layer digest.
    good = img.layer_blobs[0]
    fake_registry.add_blob(img.layer_digests[0], bytes(len(good)))
    r = servin.fail("pull", "%s/bad/img:latest" % fake_registry.host)
    assert "digest mismatch" in r.stderr
    assert image_ids(servin) == set()
    assert blobs_in_store(servin) == []
    ingest = os.path.join(servin.root, "content", "ingest")
    assert not os.path.isdir(ingest) or os.listdir(ingest) == []
    layers = os.path.join(servin.root, "layers")
    assert not os.path.isdir(layers) or os.listdir(layers) == []


def test_pull_corrupt_manifest_by_digest(servin, fake_registry, layouts):
    img = layouts["busybox"]
    fake_registry.add_image("bad/img", "latest", img)
    # Answer a digest request with a manifest of another digest.
    other = img.manifest.replace(b'"schemaVersion":2', b'"schemaVersion": 2')
    assert other != img.manifest
    fake_registry.set_response("GET", "/v2/bad/img/manifests/%s" % img.manifest_digest, 200, other,
                               {"Content-Type": imagebuild.MT_MANIFEST})
    r = servin.fail("pull", "%s/bad/img@%s" % (fake_registry.host, img.manifest_digest))
    assert "digest" in r.stderr and "mismatch" in r.stderr
    assert image_ids(servin) == set()


def test_pull_schema1_refused(servin, fake_registry):
    m = json.dumps({"schemaVersion": 1, "name": "old/img", "tag": "latest", "fsLayers": [], "history": []})
    fake_registry.add_manifest("old/img", "latest", m, "application/vnd.docker.distribution.manifest.v1+prettyjws")
    r = servin.fail("pull", "%s/old/img" % fake_registry.host)
    assert "schema 1" in r.stderr


def test_pull_manifest_too_large(servin, fake_registry):
    big = b'{"schemaVersion":2,"pad":"' + b"x" * (5 * 1024 * 1024) + b'"}'
    fake_registry.add_manifest("big/img", "latest", big)
    r = servin.fail("pull", "%s/big/img" % fake_registry.host)
    assert "larger" in r.stderr or "too large" in r.stderr
    assert image_ids(servin) == set()


def test_pull_redirected_blob_drops_authorization(servin, fake_registry, layouts):
    """A blob redirect to another host must not carry our credentials."""
    import conftest
    img = layouts["busybox"]
    fake_registry.add_image("redir/img", "latest", img)
    other = conftest.FakeRegistry()
    try:
        other.add_blob(img.layer_digests[0], img.layer_blobs[0])
        fake_registry.set_response("GET", "/v2/redir/img/blobs/%s" % img.layer_digests[0], 307, b"",
                                   {"Location": "http://%s/v2/x/blobs/%s" % (other.host, img.layer_digests[0])})
        # The ping asks for Basic auth, so every request to the registry itself carries it.
        fake_registry.set_response("GET", "/v2/", 401, b"{}", {"WWW-Authenticate": 'Basic realm="fake"'})
        with open(servin.auth_file, "w") as f:
            json.dump({"auths": {fake_registry.host: {"auth": "dXNlcjpwYXNz"}}}, f)
        servin.ok("pull", "%s/redir/img" % fake_registry.host)
        assert img.config_digest in image_ids(servin)
        to_registry = [h for m, path, h in fake_registry.requests if "/manifests/" in path or "/blobs/" in path]
        assert to_registry and all(h.get("Authorization") == "Basic dXNlcjpwYXNz" for h in to_registry)
        got = [h for m, path, h in other.requests if "/blobs/" in path]
        assert got, "the redirect target was not asked"
        assert all("Authorization" not in h for h in got)
    finally:
        other.stop()


def test_pull_resumes_partial_download(servin, fake_registry, layouts):
    """A partial blob from an interrupted pull is continued with a Range request."""
    img = layouts["busybox"]
    fake_registry.add_image("resume/img", "latest", img)
    blob = img.layer_blobs[0]
    half = len(blob) // 2
    path = "/v2/resume/img/blobs/%s" % img.layer_digests[0]
    # First pull: the connection drops after half the layer.
    fake_registry.set_response("GET", path, 200, blob[:half], {"Content-Length": str(len(blob)),
                                                              "Connection": "close"})
    servin.fail("pull", "%s/resume/img" % fake_registry.host)
    assert image_ids(servin) == set()
    del fake_registry.requests[:]
    fake_registry.overrides.clear()
    # Second pull: we ask for the rest; this server ignores Range and sends it all, which must work too.
    servin.ok("pull", "%s/resume/img" % fake_registry.host)
    assert img.config_digest in image_ids(servin)
    ranges = [h.get("Range") for m, p, h in fake_registry.requests if p == path]
    assert ranges == ["bytes=%d-" % half]


def test_pull_single_platform_image_with_other_platform(servin, pushed):
    p = pushed["busybox"]
    r = servin.fail("pull", "--platform", "linux/arm64", p.ref)
    assert "does not match the specified platform" in r.stderr and "linux/amd64" in r.stderr
    assert image_ids(servin) == set()
    servin.ok("pull", "--platform", "linux/amd64", p.ref)
    assert image_ids(servin) == {p.image_id}


def test_pull_all_tags_follows_link_pagination(servin, fake_registry, layouts):
    img = layouts["busybox"]
    fake_registry.add_image("pg/img", "a", img)
    fake_registry.add_image("pg/img", "b", img)
    fake_registry.set_response("GET", "/v2/pg/img/tags/list", 200, json.dumps({"name": "pg/img", "tags": ["a"]}),
                               {"Content-Type": "application/json",
                                "Link": '</v2/pg/img/tags/page2?last=a&n=1>; rel="next"'})
    fake_registry.set_response("GET", "/v2/pg/img/tags/page2", 200, json.dumps({"name": "pg/img", "tags": ["b"]}),
                               {"Content-Type": "application/json",
                                "Link": '</v2/pg/img/tags/page2?last=a&n=1>; rel="next"'})
    repo = "%s/pg/img" % fake_registry.host
    servin.ok("pull", "-a", repo)
    listed = servin.ok("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    assert sorted(listed) == [repo + ":a", repo + ":b"]
    pages = [p for m, p, h in fake_registry.requests if "/tags/" in p]
    # The second page points at itself: we stop there instead of looping.
    assert pages == ["/v2/pg/img/tags/list", "/v2/pg/img/tags/page2?last=a&n=1"]


def test_pull_refetches_a_damaged_blob_left_by_a_crash(servin, pushed):
    """Blobs are synced after their unpack, so a crash can leave one damaged under its digest:
    the next pull must fetch it again rather than fail on it for ever."""
    p = pushed["multilayer"]
    for digest in p.image.layer_digests[:2]:
        path = blob_path(servin, digest)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(b"\0" * 512)  # what delayed allocation can leave after a power loss
    out = servin.lines("pull", p.ref)
    assert out[-1] == p.ref
    assert p.image_id in image_ids(servin)
    for digest in p.image.layer_digests:
        with open(blob_path(servin, digest), "rb") as f:
            assert "sha256:" + hashlib.sha256(f.read()).hexdigest() == digest
