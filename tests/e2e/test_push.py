"""servin push: to each registry, pulled back by digest into a fresh store; chunked uploads; existing layers."""

import json
import os

import pytest


def image_ids(servin):
    return set(servin.lines("images", "-q", "--no-trunc"))


def push_and_check(servin, make_servin, src_ref, dest_repo, image_id, login=None, env=None):
    servin.ok("pull", "-q", src_ref)
    dest = dest_repo + ":pushed"
    servin.ok("tag", src_ref, dest)
    if login:
        servin.ok("login", "-u", login.user, "-p", login.password, login.host)
    out = servin.lines("push", dest, env=env)
    last = out[-1]
    assert last.startswith("pushed: digest: sha256:") and " size: " in last, out
    digest = last.split()[2]

    fresh = make_servin()
    if login:
        fresh.ok("login", "-u", login.user, "-p", login.password, login.host)
    fresh.ok("pull", "%s@%s" % (dest_repo, digest))
    assert image_ids(fresh) == {image_id}
    # The digest is the one the source had: the manifest bytes went up unchanged.
    src_digest = servin.ok("image", "inspect", "-f", "{{json .RepoDigests}}", dest).stdout
    assert digest in src_digest
    return out, digest


def test_push_plain_registry(servin, make_servin, pushed, registry):
    p = pushed["multilayer"]
    out, digest = push_and_check(servin, make_servin, p.ref, "%s/pushed/multi" % registry.host, p.image_id)
    assert digest == p.digest
    assert "The push refers to repository [%s/pushed/multi]" % registry.host in out
    status, _, body = registry.get("/v2/pushed/multi/manifests/pushed",
                                   headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    assert status == 200 and body == p.image.manifest


def test_push_basic_registry(servin, make_servin, pushed, auth_registry):
    p = pushed["busybox"]
    push_and_check(servin, make_servin, p.ref, "%s/pushed/busybox" % auth_registry.host, p.image_id,
                   login=auth_registry)


def test_push_token_registry(servin, make_servin, pushed, token_registry):
    p = pushed["busybox"]
    del token_registry.token_requests[:]
    push_and_check(servin, make_servin, p.ref, "%s/pushed/busybox" % token_registry.host, p.image_id,
                   login=token_registry)
    scopes = [s for scope_list, _ in token_registry.token_requests for s in scope_list]
    assert "repository:pushed/busybox:pull,push" in scopes


def test_push_without_login_fails(servin, pushed, auth_registry):
    p = pushed["busybox"]
    servin.ok("pull", "-q", p.ref)
    dest = "%s/pushed/nologin:1" % auth_registry.host
    servin.ok("tag", p.ref, dest)
    r = servin.fail("push", dest)
    assert "authentication required" in r.stderr
    status, _, _ = auth_registry.get("/v2/pushed/nologin/manifests/1",
                                     auth=(auth_registry.user, auth_registry.password))
    assert status == 404


def test_push_chunked(servin, make_servin, pushed, registry, auth_registry):
    # From another registry, so that nothing can be mounted and every blob is uploaded.
    p = pushed["auth_busybox"]
    servin.ok("login", "-u", auth_registry.user, "-p", auth_registry.password, auth_registry.host)
    servin.ok("pull", "-q", p.ref)
    dest = "%s/pushed/chunked:latest" % registry.host
    servin.ok("tag", p.ref, dest)
    # 100 kB chunks: the ~1 MB busybox layer goes up in about ten PATCH requests.
    out = servin.lines("push", dest, env={"SERVIN_PUSH_CHUNK_SIZE": "100000"})
    assert out[-1].startswith("latest: digest: %s " % p.digest), out
    with open(registry.log) as f:
        log = f.read()
    patches = [l for l in log.splitlines() if '"PATCH /v2/pushed/chunked/blobs/uploads/' in l]
    assert len(patches) >= 5
    fresh = make_servin()
    fresh.ok("pull", "%s/pushed/chunked@%s" % (registry.host, p.digest))
    assert image_ids(fresh) == {p.image_id}


def test_push_again_layers_exist(servin, pushed, registry):
    p = pushed["busybox"]
    servin.ok("pull", "-q", p.ref)
    dest = "%s/pushed/twice:latest" % registry.host
    servin.ok("tag", p.ref, dest)
    servin.ok("push", dest)
    out = servin.lines("push", dest)
    assert any(l.endswith(": Layer already exists") for l in out), out


def test_push_mounts_from_source_repo(servin, pushed, registry):
    p = pushed["multilayer"]
    servin.ok("pull", "-q", p.ref)
    dest = "%s/pushed/mounted:latest" % registry.host
    servin.ok("tag", p.ref, dest)
    out = servin.lines("push", dest)
    assert any(l.endswith(": Mounted from another repository") for l in out), out


def test_push_quiet(servin, pushed, registry):
    p = pushed["busybox"]
    servin.ok("pull", "-q", p.ref)
    dest = "%s/pushed/quiet:v1" % registry.host
    servin.ok("tag", p.ref, dest)
    assert servin.lines("push", "-q", dest) == [dest]


def test_push_all_tags(servin, pushed, registry):
    p = pushed["busybox"]
    servin.ok("pull", "-q", p.ref)
    repo = "%s/pushed/alltags" % registry.host
    servin.ok("tag", p.ref, repo + ":a")
    servin.ok("tag", p.ref, repo + ":b")
    out = servin.lines("push", "--all-tags", repo)
    assert any(l.startswith("a: digest: ") for l in out) and any(l.startswith("b: digest: ") for l in out)
    status, _, body = registry.get("/v2/pushed/alltags/tags/list")
    assert status == 200 and sorted(json.loads(body)["tags"]) == ["a", "b"]


def test_push_unknown_image(servin, registry):
    r = servin.fail("push", "%s/nothing/here:latest" % registry.host)
    assert "does not exist locally" in r.stderr


def test_push_unreachable(servin, pushed):
    p = pushed["busybox"]
    servin.ok("pull", "-q", p.ref)
    servin.ok("tag", p.ref, "127.0.0.1:1/x:latest")
    r = servin.fail("push", "127.0.0.1:1/x:latest")
    assert "connect to 127.0.0.1:1: Connection refused" in r.stderr
