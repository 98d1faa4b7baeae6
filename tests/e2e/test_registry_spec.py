"""The built-in registry against the OCI distribution spec v1.1: the pull, push, content-discovery
and content-management workflows with the status codes and headers the spec text gives, and the
bad inputs that must be refused without storing anything."""

import hashlib
import json
import os
import socket
import threading

import pytest

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def error_codes(body):
    return [e["code"] for e in json.loads(body)["errors"]]


def blob_files(servin):
    d = os.path.join(servin.root, "content", "blobs", "sha256")
    return set(os.listdir(d)) if os.path.isdir(d) else set()


def upload(reg, repo, data):
    """Monolithic POST+PUT; returns the digest."""
    st, h, _ = reg.req("POST", "/v2/%s/blobs/uploads/" % repo)
    assert st == 202, st
    d = digest(data)
    st, h, body = reg.req("PUT", h["location"] + "?digest=" + d, body=data,
                          headers={"Content-Type": "application/octet-stream"})
    assert st == 201, body
    return d


def image_manifest(reg, repo, layer=b"layer-bytes", config=b"{}", extra=None):
    cfg, lay = upload(reg, repo, config), upload(reg, repo, layer)
    m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
         "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg, "size": len(config)},
         "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": lay, "size": len(layer)}]}
    m.update(extra or {})
    return json.dumps(m, sort_keys=True).encode()


def put_manifest(reg, repo, ref, data, media_type=OCI_MANIFEST):
    return reg.req("PUT", "/v2/%s/manifests/%s" % (repo, ref), body=data, headers={"Content-Type": media_type})


@pytest.fixture
def reg(servin_registry):
    return servin_registry()


def test_base_endpoint(reg):
    st, h, body = reg.get("/v2/")
    assert st == 200
    assert h["docker-distribution-api-version"] == "registry/2.0"
    assert json.loads(body) == {}


def test_pull_workflow(reg):
    m = image_manifest(reg, "pull/test")
    st, h, _ = put_manifest(reg, "pull/test", "v1", m)
    assert st == 201
    md = digest(m)
    for ref in ("v1", md):
        st, h, body = reg.get("/v2/pull/test/manifests/" + ref, headers={"Accept": OCI_MANIFEST})
        assert st == 200 and body == m
        assert h["content-type"] == OCI_MANIFEST
        assert h["docker-content-digest"] == md
        assert int(h["content-length"]) == len(m)
        st, h, body = reg.req("HEAD", "/v2/pull/test/manifests/" + ref)
        assert st == 200 and body == b"" and int(h["content-length"]) == len(m)
        assert h["docker-content-digest"] == md
    st, _, body = reg.get("/v2/pull/test/manifests/nope")
    assert st == 404 and error_codes(body) == ["MANIFEST_UNKNOWN"]
    st, _, _ = reg.req("HEAD", "/v2/pull/test/manifests/" + digest(b"other"))
    assert st == 404

    layer = json.loads(m)["layers"][0]["digest"]
    st, h, body = reg.get("/v2/pull/test/blobs/" + layer)
    assert st == 200 and body == b"layer-bytes"
    assert h["docker-content-digest"] == layer and int(h["content-length"]) == 11
    st, h, body = reg.get("/v2/pull/test/blobs/" + layer, headers={"Range": "bytes=6-10"})
    assert st == 206 and body == b"bytes" and h["content-range"] == "bytes 6-10/11"
    st, h, _ = reg.get("/v2/pull/test/blobs/" + layer, headers={"Range": "bytes=50-60"})
    assert st == 416
    st, _, body = reg.get("/v2/pull/test/blobs/" + digest(b"missing"))
    assert st == 404 and error_codes(body) == ["BLOB_UNKNOWN"]
    # A blob of another repository is not reachable through this one.
    st, _, _ = reg.get("/v2/other/repo/blobs/" + layer)
    assert st == 404


def test_push_chunked_workflow(reg):
    data = os.urandom(300000)
    st, h, _ = reg.req("POST", "/v2/push/chunked/blobs/uploads/")
    assert st == 202
    loc, uuid = h["location"], h["docker-upload-uuid"]
    assert uuid in loc
    st, h, _ = reg.req("PATCH", loc, body=data[:100000],
                       headers={"Content-Type": "application/octet-stream", "Content-Range": "0-99999",
                                "Content-Length": "100000"})
    assert st == 202 and h["range"] == "0-99999" and h["docker-upload-uuid"] == uuid
    loc = h["location"]
    # A chunk that does not continue where the data stops is refused with 416.
    st, h, _ = reg.req("PATCH", loc, body=data[:10], headers={"Content-Range": "5-14",
                                                               "Content-Type": "application/octet-stream"})
    assert st == 416 and h["range"] == "0-99999"
    st, h, _ = reg.get(loc)
    assert st == 204 and h["range"] == "0-99999" and h["location"]
    st, h, _ = reg.req("PATCH", loc, body=data[100000:],
                       headers={"Content-Range": "100000-299999", "Content-Type": "application/octet-stream"})
    assert st == 202 and h["range"] == "0-299999"
    d = digest(data)
    st, h, _ = reg.req("PUT", h["location"] + "?digest=" + d)
    assert st == 201
    assert h["location"].endswith("/v2/push/chunked/blobs/" + d)
    assert h["docker-content-digest"] == d
    st, _, body = reg.get("/v2/push/chunked/blobs/" + d)
    assert st == 200 and body == data
    # The session is gone once the blob is complete.
    st, _, body = reg.get(loc)
    assert st == 404 and error_codes(body) == ["BLOB_UPLOAD_UNKNOWN"]


def test_push_monolithic_mount_and_cancel(reg):
    data = b"single post"
    d = digest(data)
    st, h, _ = reg.req("POST", "/v2/push/mono/blobs/uploads/?digest=" + d, body=data,
                       headers={"Content-Type": "application/octet-stream"})
    assert st == 201 and h["docker-content-digest"] == d
    assert h["location"].endswith("/v2/push/mono/blobs/" + d)
    st, h, _ = reg.req("POST", "/v2/push/other/blobs/uploads/?mount=%s&from=push/mono" % d)
    assert st == 201 and h["location"].endswith("/v2/push/other/blobs/" + d)
    assert reg.req("HEAD", "/v2/push/other/blobs/" + d)[0] == 200
    # Mounting what the source does not have falls back to an upload session.
    st, h, _ = reg.req("POST", "/v2/push/third/blobs/uploads/?mount=%s&from=nowhere/repo" % digest(b"x"))
    assert st == 202 and h["location"]
    loc = h["location"]
    st, _, _ = reg.req("DELETE", loc)
    assert st == 204
    st, _, body = reg.get(loc)
    assert st == 404 and error_codes(body) == ["BLOB_UPLOAD_UNKNOWN"]


def test_manifest_push_and_tags_pagination(reg):
    m = image_manifest(reg, "disc/tags")
    for tag in ("b", "a", "d", "c", "e"):
        st, h, _ = put_manifest(reg, "disc/tags", tag, m)
        assert st == 201
        assert h["docker-content-digest"] == digest(m)
        assert h["location"].endswith("/v2/disc/tags/manifests/" + digest(m))
    st, h, body = reg.get("/v2/disc/tags/tags/list")
    assert st == 200 and json.loads(body) == {"name": "disc/tags", "tags": ["a", "b", "c", "d", "e"]}
    st, h, body = reg.get("/v2/disc/tags/tags/list?n=2")
    assert json.loads(body)["tags"] == ["a", "b"]
    assert 'rel="next"' in h["link"] and "last=b" in h["link"]
    st, h, body = reg.get("/v2/disc/tags/tags/list?n=2&last=b")
    assert json.loads(body)["tags"] == ["c", "d"]
    st, h, body = reg.get("/v2/disc/tags/tags/list?n=5&last=d")
    assert json.loads(body)["tags"] == ["e"] and "link" not in h
    st, _, body = reg.get("/v2/disc/tags/tags/list?n=0")
    assert st == 200 and json.loads(body)["tags"] == []
    st, _, body = reg.get("/v2/no/such/tags/list")
    assert st == 404 and error_codes(body) == ["NAME_UNKNOWN"]
    st, _, body = reg.get("/v2/_catalog")
    assert "disc/tags" in json.loads(body)["repositories"]
    st, h, body = reg.get("/v2/_catalog?n=1")
    assert len(json.loads(body)["repositories"]) == 1


def test_referrers(reg):
    subject = image_manifest(reg, "disc/ref")
    assert put_manifest(reg, "disc/ref", "latest", subject)[0] == 201
    sd = digest(subject)
    cfg = upload(reg, "disc/ref", b"{}")
    art = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/x-sbom",
                      "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": cfg, "size": 2},
                      "layers": [], "subject": {"mediaType": OCI_MANIFEST, "digest": sd, "size": len(subject)},
                      "annotations": {"org.example": "yes"}}).encode()
    st, h, _ = put_manifest(reg, "disc/ref", digest(art), art)
    assert st == 201 and h["oci-subject"] == sd
    st, h, body = reg.get("/v2/disc/ref/referrers/" + sd)
    assert st == 200 and h["content-type"] == OCI_INDEX
    idx = json.loads(body)
    assert idx["mediaType"] == OCI_INDEX and idx["schemaVersion"] == 2
    assert idx["manifests"] == [{"mediaType": OCI_MANIFEST, "digest": digest(art), "size": len(art),
                                 "artifactType": "application/x-sbom", "annotations": {"org.example": "yes"}}]
    st, h, body = reg.get("/v2/disc/ref/referrers/%s?artifactType=application/other" % sd)
    assert st == 200 and json.loads(body)["manifests"] == [] and h["oci-filters-applied"] == "artifactType"
    st, _, body = reg.get("/v2/disc/ref/referrers/" + digest(b"nothing refers"))
    assert st == 200 and json.loads(body)["manifests"] == []


def test_content_management(reg):
    m = image_manifest(reg, "mgmt/repo")
    md = digest(m)
    assert put_manifest(reg, "mgmt/repo", "one", m)[0] == 201
    assert put_manifest(reg, "mgmt/repo", "two", m)[0] == 201
    assert reg.req("DELETE", "/v2/mgmt/repo/manifests/one")[0] == 202
    assert reg.get("/v2/mgmt/repo/manifests/one")[0] == 404
    assert reg.get("/v2/mgmt/repo/manifests/two")[0] == 200
    assert reg.req("DELETE", "/v2/mgmt/repo/manifests/" + md)[0] == 202
    assert reg.get("/v2/mgmt/repo/manifests/two")[0] == 404
    assert reg.get("/v2/mgmt/repo/manifests/" + md)[0] == 404
    st, _, body = reg.req("DELETE", "/v2/mgmt/repo/manifests/" + md)
    assert st == 404 and error_codes(body) == ["MANIFEST_UNKNOWN"]
    layer = json.loads(m)["layers"][0]["digest"]
    assert reg.req("DELETE", "/v2/mgmt/repo/blobs/" + layer)[0] == 202
    assert reg.get("/v2/mgmt/repo/blobs/" + layer)[0] == 404
    st, _, body = reg.req("DELETE", "/v2/mgmt/repo/blobs/" + layer)
    assert st == 404 and error_codes(body) == ["BLOB_UNKNOWN"]


def test_wrong_digest_stores_nothing(reg, servin):
    before = blob_files(servin)
    data = b"the real bytes"
    wrong = digest(b"other bytes")
    st, _, body = reg.req("POST", "/v2/bad/digest/blobs/uploads/?digest=" + wrong, body=data)
    assert st == 400 and error_codes(body) == ["DIGEST_INVALID"]
    st, h, _ = reg.req("POST", "/v2/bad/digest/blobs/uploads/")
    st, _, body = reg.req("PUT", h["location"] + "?digest=" + wrong, body=data)
    assert st == 400 and error_codes(body) == ["DIGEST_INVALID"]
    st, _, body = reg.req("PUT", h["location"] + "?digest=sha256:nothex", body=data)
    assert st in (400, 404)
    for d in (wrong, digest(data)):
        assert reg.req("HEAD", "/v2/bad/digest/blobs/" + d)[0] == 404
    assert blob_files(servin) == before
    assert os.listdir(os.path.join(servin.root, "content", "ingest")) == []


def test_truncated_upload_stores_nothing(reg, servin):
    before = blob_files(servin)
    data = os.urandom(4096)
    d = digest(data)
    s = socket.create_connection(("127.0.0.1", reg.port))
    s.sendall(("POST /v2/bad/trunc/blobs/uploads/?digest=%s HTTP/1.1\r\nHost: x\r\n"
               "Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n" % (d, len(data))).encode())
    s.sendall(data[:1000])
    s.close()
    # The server notices the hang-up; give it a moment, then nothing must be stored.
    for _ in range(50):
        if "bad/trunc" in reg.log_text():
            break
        threading.Event().wait(0.1)
    assert reg.req("HEAD", "/v2/bad/trunc/blobs/" + d)[0] == 404
    assert blob_files(servin) == before
    assert os.listdir(os.path.join(servin.root, "content", "ingest")) == []


def test_invalid_manifests_refused(reg, servin):
    st, _, body = put_manifest(reg, "bad/manifest", "x", b"{not json")
    assert st == 400 and error_codes(body) == ["MANIFEST_INVALID"]
    st, _, body = put_manifest(reg, "bad/manifest", "x", b'{"schemaVersion": 1}')
    assert st == 400 and error_codes(body) == ["MANIFEST_INVALID"]
    # Content-Type and the manifest's mediaType disagree.
    m = image_manifest(reg, "bad/manifest")
    st, _, body = put_manifest(reg, "bad/manifest", "x", m, media_type=OCI_INDEX)
    assert st == 400 and error_codes(body) == ["MANIFEST_INVALID"]
    # PUT by a digest that is not the body's.
    st, _, body = put_manifest(reg, "bad/manifest", digest(b"not it"), m)
    assert st == 400 and error_codes(body) == ["DIGEST_INVALID"]
    # A manifest naming blobs the repository does not have.
    before = blob_files(servin)
    missing = json.loads(m)
    missing["layers"][0]["digest"] = digest(b"never uploaded")
    data = json.dumps(missing).encode()
    st, _, body = put_manifest(reg, "bad/manifest", "x", data)
    assert st == 400 and error_codes(body) == ["MANIFEST_BLOB_UNKNOWN"]
    assert reg.get("/v2/bad/manifest/manifests/" + digest(data))[0] == 404
    assert reg.get("/v2/bad/manifest/manifests/x")[0] == 404
    assert blob_files(servin) == before
    # Too large (the spec asks for at least 4 MiB to be accepted; more is 413).
    st, _, _ = put_manifest(reg, "bad/manifest", "big", b" " * (4 * 1024 * 1024 + 10))
    assert st == 413


@pytest.mark.parametrize("path", ["/v2/../../etc/passwd/manifests/latest", "/v2/a/../b/manifests/latest",
                                  "/v2/a/%2e%2e/b/manifests/latest", "/v2/A/Upper/manifests/latest",
                                  "/v2/a//b/blobs/uploads/", "/v2/./x/tags/list"])
def test_path_traversal_refused(reg, servin, path):
    for method in ("GET", "POST", "PUT"):
        st, _, body = reg.req(method, path, body=b"{}" if method != "GET" else None)
        assert st in (400, 404), (method, path, st)
        if st == 400:
            assert error_codes(body) == ["NAME_INVALID"]
    assert json.loads(reg.get("/v2/_catalog")[2])["repositories"] == []


def test_concurrent_pushes_of_one_blob(reg, servin):
    data = os.urandom(3 * 1024 * 1024)
    d = digest(data)
    results = []

    def push(i):
        st, h, _ = reg.req("POST", "/v2/conc/r%d/blobs/uploads/" % i)
        half = len(data) // 2
        st1, h, _ = reg.req("PATCH", h["location"], body=data[:half], headers={"Content-Type": "application/octet-stream"})
        st2, h, _ = reg.req("PATCH", h["location"], body=data[half:], headers={"Content-Type": "application/octet-stream"})
        st3, h, _ = reg.req("PUT", h["location"] + "?digest=" + d)
        results.append((st1, st2, st3))
    threads = [threading.Thread(target=push, args=(i % 2,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [(202, 202, 201)] * 6
    for i in range(2):
        st, _, body = reg.get("/v2/conc/r%d/blobs/%s" % (i, d))
        assert st == 200 and digest(body) == d
    assert d.split(":")[1] in blob_files(servin)
    assert os.listdir(os.path.join(servin.root, "content", "ingest")) == []


def test_access_log(reg):
    reg.get("/v2/")
    reg.get("/v2/log/test/manifests/nope")
    # A line is written when the request completes, just after the answer went out.
    for _ in range(50):
        log = reg.log_text()
        if "nope" in log:
            break
        threading.Event().wait(0.1)
    assert '"GET /v2/" 200 2' in log
    assert '"GET /v2/log/test/manifests/nope" 404' in log
