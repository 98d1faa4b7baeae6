"""Checks of the test fixtures themselves: the images, the registries, the runner, the rootfs script.

If these fail, the failures of the other e2e tests say nothing about Servin.
"""

import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile
import urllib.error
import urllib.request

import pytest

import imagebuild

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ACCEPT = ", ".join([imagebuild.MT_MANIFEST, imagebuild.MT_INDEX, imagebuild.DOCKER_MANIFEST])


def decompress(blob, media_type):
    if media_type.endswith("+gzip"):
        return gzip.decompress(blob)
    if media_type.endswith("+zstd"):
        return subprocess.run(["zstd", "-q", "-d", "-c"], input=blob, stdout=subprocess.PIPE, check=True).stdout
    return blob


def apply_layer_as_overlay_dir(raw_tar, dest):
    """A reference unpacker for one layer into its own directory, overlayfs style."""
    os.makedirs(dest, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(raw_tar)) as t:
        for m in t.getmembers():
            d, base = os.path.split(m.name)
            if base == ".wh..wh..opq":
                os.makedirs(os.path.join(dest, d), exist_ok=True)
                os.setxattr(os.path.join(dest, d), "trusted.overlay.opaque", b"y")
            elif base.startswith(".wh."):
                os.makedirs(os.path.join(dest, d), exist_ok=True)
                os.mknod(os.path.join(dest, d, base[4:]), 0o600 | 0o020000, os.makedev(0, 0))
            else:
                t.extract(m, dest, set_attrs=True, numeric_owner=True)


def test_layout_digests_are_consistent(layouts, tmp_path):
    for name, img in layouts.items():
        images = img.images.values() if isinstance(img, imagebuild.MultiArch) else [img]
        for im in images:
            assert imagebuild.sha256_digest(im.manifest) == im.manifest_digest
            assert imagebuild.sha256_digest(im.config) == im.config_digest
            manifest = json.loads(im.manifest)
            assert manifest["config"]["digest"] == im.config_digest
            for layer, diff_id, blob in zip(manifest["layers"], im.diff_ids, im.layer_blobs):
                assert imagebuild.sha256_digest(blob) == layer["digest"]
                assert imagebuild.sha256_digest(decompress(blob, layer["mediaType"])) == diff_id
            assert json.loads(im.config)["rootfs"]["diff_ids"] == im.diff_ids
        # skopeo reads the layout and agrees on the digest.
        r = subprocess.run(["skopeo", "inspect", "--raw", "oci:%s:%s" % (img.layout, img.tag)],
                           stdout=subprocess.PIPE, check=True)
        assert imagebuild.sha256_digest(r.stdout) == img.manifest_digest, name


def test_layouts_are_deterministic(tmp_path, layouts):
    again = imagebuild.multilayer_layout(tmp_path / "again")
    assert again.manifest_digest == layouts["multilayer"].manifest_digest
    again = imagebuild.busybox_layout(tmp_path / "bb")
    assert again.manifest_digest == layouts["busybox"].manifest_digest


def test_zstd_layout_media_types(layouts):
    z = layouts["zstd"]
    assert z.layer_media_types == [imagebuild.MT_LAYER_ZSTD] * 2
    assert all(b.startswith(b"\x28\xb5\x2f\xfd") for b in z.layer_blobs)  # zstd frame magic


def test_multiarch_configs_differ(layouts):
    m = layouts["multiarch"]
    amd, arm = m.images["linux/amd64"], m.images["linux/arm64"]
    assert amd.config_digest != arm.config_digest
    assert json.loads(arm.config)["architecture"] == "arm64"
    index = json.loads(m.index)
    assert [e["platform"]["architecture"] for e in index["manifests"]] == ["amd64", "arm64"]


def test_multilayer_expectations_hold_with_reference_unpacker(layouts, tmp_path):
    img = layouts["multilayer"]
    dirs = []
    for i, (blob, mt) in enumerate(zip(img.layer_blobs, img.layer_media_types)):
        d = tmp_path / ("layer%d" % i)
        apply_layer_as_overlay_dir(decompress(blob, mt), d)
        dirs.append(d)
    with imagebuild.merged_view(dirs, tmp_path) as root:
        assert imagebuild.rootfs_problems(root, img) == []
        assert os.stat(os.path.join(root, "setuid-file")).st_mode & 0o4000
        assert os.stat(os.path.join(root, "owned-by-1000")).st_uid == 1000
    # The checker can fail: the base layer alone lacks layer 3's file and still has the deleted one.
    problems = imagebuild.rootfs_problems(dirs[0], img)
    assert any("layer3.txt" in p for p in problems)
    assert any("remove-me" in p for p in problems)


def test_busybox_layout_runs(layouts, tmp_path):
    img = layouts["busybox"]
    root = tmp_path / "bb"
    apply_layer_as_overlay_dir(decompress(img.layer_blobs[0], img.layer_media_types[0]), root)
    assert imagebuild.rootfs_problems(root, img) == []
    r = subprocess.run(["chroot", str(root), "/bin/sh", "-c", "echo hello from $(id -un)"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    assert r.stdout.strip() == "hello from root", r.stderr


def test_make_busybox_rootfs(tmp_path):
    tarball = tmp_path / "rootfs.tar"
    subprocess.run([os.path.join(REPO_ROOT, "scripts", "make-busybox-rootfs"), str(tarball)], check=True)
    with tarfile.open(tarball) as t:
        names = {m.name.lstrip("./").rstrip("/"): m for m in t.getmembers()}
        assert names["bin/sh"].issym() and names["bin/sh"].linkname == "busybox"
        assert names["bin/busybox"].isfile() and names["bin/busybox"].mode & 0o111
        assert names["tmp"].mode & 0o1777 == 0o1777
        assert all(m.uid == 0 and m.gid == 0 for m in names.values())
        passwd = t.extractfile(t.getmember("./etc/passwd")).read().decode()
        assert passwd.startswith("root:x:0:0:")
        t.extractall(tmp_path / "root", numeric_owner=True)
    r = subprocess.run(["chroot", str(tmp_path / "root"), "/bin/ls", "/etc"], stdout=subprocess.PIPE, text=True)
    assert "passwd" in r.stdout.split()


def test_pushed_images_keep_their_digests(pushed, registry, auth_registry, token_registry):
    regs = {registry.host: registry, auth_registry.host: auth_registry, token_registry.host: token_registry}
    for key, p in pushed.items():
        reg = regs[p.host]
        path = "/v2/%s/manifests/%s" % (p.repo.split("/", 1)[1], p.tag)
        auth = (reg.user, reg.password) if reg.user else None
        status, headers, body = reg.get(path, headers={"Accept": ACCEPT}, auth=auth)
        assert status == 200, (key, status, body)
        assert headers.get("Docker-Content-Digest") == p.digest, key
        assert hashlib.sha256(body).hexdigest() == p.digest.split(":")[1], key


def test_auth_registry_requires_credentials(pushed, auth_registry):
    path = "/v2/auth/busybox/manifests/latest"
    status, headers, _ = auth_registry.get(path, headers={"Accept": ACCEPT})
    assert status == 401
    assert headers.get("Www-Authenticate", "").startswith("Basic ")
    assert auth_registry.get(path, headers={"Accept": ACCEPT}, auth=(auth_registry.user, "wrong"))[0] == 401
    assert auth_registry.get(path, headers={"Accept": ACCEPT},
                             auth=(auth_registry.user, auth_registry.password))[0] == 200


def test_token_registry_flow(pushed, token_registry):
    path = "/v2/auth/busybox/manifests/latest"
    status, headers, _ = token_registry.get(path, headers={"Accept": ACCEPT})
    assert status == 401
    challenge = headers.get("Www-Authenticate", "")
    assert challenge.startswith("Bearer ") and token_registry.realm in challenge
    # The token server refuses bad credentials outright.
    with pytest.raises(AssertionError):
        token_registry.get(path, headers={"Accept": ACCEPT}, auth=(token_registry.user, "wrong"))
    # An anonymous token carries no access, so the registry still refuses.
    req = urllib.request.Request(token_registry.realm + "?service=%s&scope=repository:auth/busybox:pull"
                                 % token_registry.service)
    tok = json.loads(urllib.request.urlopen(req, timeout=10).read())["token"]
    st, _, _ = token_registry.get(path, headers={"Accept": ACCEPT, "Authorization": "Bearer " + tok})
    assert st == 401
    assert token_registry.get(path, headers={"Accept": ACCEPT},
                              auth=(token_registry.user, token_registry.password))[0] == 200
    assert any(scopes == ["repository:auth/busybox:pull"] and acct == token_registry.user
               for scopes, acct in token_registry.token_requests)


def test_fake_registry_serves_what_it_is_given(fake_registry, layouts):
    img = layouts["busybox"]
    fake_registry.add_image("x/y", "latest", img)
    fake_registry.add_blob("sha256:" + "0" * 64, b"not what the digest says")
    fake_registry.set_response("GET", "/v2/x/odd/manifests/latest", 500, b"boom")
    base = fake_registry.url
    assert urllib.request.urlopen(base + "/v2/").status == 200
    r = urllib.request.urlopen(urllib.request.Request(base + "/v2/x/y/manifests/latest"))
    assert r.read() == img.manifest and r.headers["Docker-Content-Digest"] == img.manifest_digest
    assert urllib.request.urlopen(base + "/v2/x/y/blobs/sha256:" + "0" * 64).read() == b"not what the digest says"
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(base + "/v2/x/odd/manifests/latest")
    assert e.value.code == 500
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(base + "/v2/x/y/blobs/sha256:" + "1" * 64)
    assert e.value.code == 404
    assert ("GET", "/v2/x/y/manifests/latest") in [(m, p) for m, p, _ in fake_registry.requests]


def test_runner_checks(servin, make_servin):
    with pytest.raises(AssertionError):
        servin.fail("version")  # succeeds, so fail() must complain
    with pytest.raises(AssertionError):
        servin("no-such-command")  # check=True raises
    r = servin("no-such-command", check=False)
    assert r.returncode == 125
    other = make_servin()
    assert other.root != servin.root and other.auth_file != servin.auth_file
    assert servin.env["SERVIN_REGISTRY_AUTH_FILE"] == servin.auth_file
    assert "SERVIN_ROOT" not in servin.env


def test_push_layout_as_docker_schema2(layouts, registry):
    img = layouts["busybox"]
    ref = "%s/test/busybox-v2s2:latest" % registry.host
    imagebuild.push_layout(img.layout, ref, fmt="v2s2")
    status, headers, body = registry.get("/v2/test/busybox-v2s2/manifests/latest", headers={"Accept": ACCEPT})
    assert status == 200
    manifest = json.loads(body)
    assert manifest["mediaType"] == imagebuild.DOCKER_MANIFEST
    assert manifest["config"]["digest"] == img.config_digest
    assert [l["digest"] for l in manifest["layers"]] == img.layer_digests
