"""`servin registry`: the built-in server driven by clients that are not ours (skopeo, curl) and by
Servin's own push/pull; auth, TLS, detach/stop/list, gc, and its refusals."""

import json
import os
import re
import socket
import subprocess

import pytest

import imagebuild
from regserver import ServinRegistry


def skopeo(*args, timeout=300):
    r = subprocess.run(["skopeo"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout, env=dict(os.environ, REGISTRY_AUTH_FILE="/nonexistent/servin-tests-auth.json"))
    assert r.returncode == 0, r.stderr
    return r.stdout


def curl(*args):
    return subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}"] + list(args),
                          stdout=subprocess.PIPE, text=True, timeout=60).stdout


def blob_count(root):
    return len(os.listdir(os.path.join(root, "content", "blobs", "sha256")))


def test_skopeo_copy_in_and_out(servin_registry, layouts, tmp_path):
    reg = servin_registry()
    imagebuild.push_layout(layouts["multilayer"], reg.host + "/skopeo/multi:latest")
    imagebuild.push_layout(layouts["multiarch"], reg.host + "/skopeo/multiarch:latest", multi=True)
    raw = skopeo("inspect", "--raw", "--tls-verify=false", "docker://%s/skopeo/multi:latest" % reg.host)
    assert imagebuild.sha256_digest(raw.encode()) == layouts["multilayer"].manifest_digest
    out = tmp_path / "out"
    skopeo("copy", "--quiet", "--src-tls-verify=false", "--all", "--preserve-digests",
           "docker://%s/skopeo/multiarch:latest" % reg.host, "oci:%s:x" % out)
    index = json.loads((out / "index.json").read_text())
    assert index["manifests"][0]["digest"] == layouts["multiarch"].manifest_digest
    # every blob the copy wrote verifies against its name
    for name in os.listdir(out / "blobs" / "sha256"):
        data = (out / "blobs" / "sha256" / name).read_bytes()
        assert imagebuild.sha256_digest(data) == "sha256:" + name
    tags = skopeo("list-tags", "--tls-verify=false", "docker://%s/skopeo/multi" % reg.host)
    assert json.loads(tags)["Tags"] == ["latest"]


def test_servin_push_and_pull(servin, make_servin, servin_registry, layouts):
    reg = servin_registry("--storage", str(servin.tmp) + "/regstore")
    imagebuild.push_layout(layouts["busybox"], reg.host + "/seed/busybox:latest")
    servin.ok("pull", reg.host + "/seed/busybox:latest")
    # `registry push IMAGE REGISTRY` pushes under the registry's name, like tag + push.
    r = servin.ok("registry", "push", reg.host + "/seed/busybox:latest", reg.host + "/copied")
    assert "digest: sha256:" in r.stdout
    other = make_servin()
    other.ok("registry", "pull", "copied/seed/busybox", reg.host)
    img = other.json("image", "inspect", reg.host + "/copied/seed/busybox:latest")
    assert img[0]["Id"] == layouts["busybox"].config_digest
    r = other.ok("run", "--rm", reg.host + "/copied/seed/busybox:latest", "echo", "from-servin-registry")
    assert "from-servin-registry" in r.stdout


def test_shared_root_keeps_one_copy(servin, servin_registry, layouts):
    """Registry storage = the image store's root: pulling from it stores no blob twice, and the
    image store's garbage collection keeps what the registry serves."""
    reg = servin_registry()
    imagebuild.push_layout(layouts["multilayer"], reg.host + "/shared/multi:latest")
    before = blob_count(servin.root)
    servin.ok("pull", reg.host + "/shared/multi:latest")
    assert blob_count(servin.root) == before
    servin.ok("rmi", reg.host + "/shared/multi:latest")
    servin.ok("image", "prune", "-a", "-f")
    assert blob_count(servin.root) == before
    raw = skopeo("inspect", "--raw", "--tls-verify=false", "docker://%s/shared/multi:latest" % reg.host)
    assert json.loads(raw)["layers"]


def test_gc_removes_only_unreferenced(servin, servin_registry, layouts):
    reg = servin_registry()
    imagebuild.push_layout(layouts["busybox"], reg.host + "/gc/keep:latest")
    imagebuild.push_layout(layouts["multilayer"], reg.host + "/gc/drop:latest")
    digest = layouts["multilayer"].manifest_digest
    assert reg.req("DELETE", "/v2/gc/drop/manifests/" + digest)[0] == 202
    before = blob_count(servin.root)
    dry = servin.ok("registry", "gc", "--dry-run").stdout
    assert "would delete sha256:" + "" in dry and blob_count(servin.root) == before
    n = len(re.findall(r"^would delete ", dry, re.M))
    assert n >= 2
    done = servin.ok("registry", "gc").stdout
    assert len(re.findall(r"^deleted ", done, re.M)) == n
    assert blob_count(servin.root) == before - n
    # what the kept image needs is still served, and verifies
    out = os.path.join(servin.tmp, "gc-out")
    skopeo("copy", "--quiet", "--src-tls-verify=false", "docker://%s/gc/keep:latest" % reg.host, "oci:%s:x" % out)
    assert reg.get("/v2/gc/drop/manifests/latest")[0] == 404
    assert "Would remove 0 blobs" in servin.ok("registry", "gc", "--dry-run").stdout


def test_htpasswd_auth(servin, servin_registry, layouts):
    htpasswd = os.path.join(servin.tmp, "htpasswd")
    subprocess.run(["htpasswd", "-Bbc", htpasswd, "alice", "s3cret"], check=True, capture_output=True)
    reg = servin_registry("--htpasswd", htpasswd)
    st, h, body = reg.get("/v2/")
    assert st == 401 and h["www-authenticate"].startswith("Basic ")
    assert json.loads(body)["errors"][0]["code"] == "UNAUTHORIZED"
    assert curl("-u", "alice:wrong", reg.url + "/v2/") == "401"
    assert curl("-u", "alice:s3cret", reg.url + "/v2/") == "200"
    imagebuild.push_layout(layouts["busybox"], reg.host + "/auth/busybox:latest", creds=("alice", "s3cret"))
    servin.fail("pull", reg.host + "/auth/busybox:latest")
    servin.fail("registry", "login", "-u", "alice", "-p", "nope", reg.host)
    r = servin.ok("registry", "login", reg.host, env={"SERVIN_REGISTRY_USER": "alice",
                                                      "SERVIN_REGISTRY_PASSWORD": "s3cret"})
    assert "Login Succeeded" in r.stdout
    assert "HTTP 200" in servin.ok("registry", "ping", reg.host).stdout
    servin.ok("pull", reg.host + "/auth/busybox:latest")
    listing = servin.ok("registry", "list").stdout
    assert re.search(re.escape(reg.host) + r".*reachable.*stored", listing), listing
    servin.ok("registry", "logout", "--all")
    assert "login required" in servin.ok("registry", "ping", reg.host).stdout
    r = servin.ok("registry", "login", "-u", "alice", "--password-stdin", reg.host, input="s3cret\n")
    assert "Login Succeeded" in r.stdout
    servin.ok("registry", "logout", reg.host)


def test_tls(servin, servin_registry):
    cert, key = os.path.join(servin.tmp, "cert.pem"), os.path.join(servin.tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    reg = servin_registry("--tls-cert", cert, "--tls-key", key, scheme="https")
    assert reg.url.startswith("https://")
    assert curl("--cacert", cert, "https://%s/v2/" % reg.host) == "200"
    assert reg.get("/v2/")[0] == 200


def test_port_taken(servin):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        r = servin.fail("registry", "start", "--port", str(port), code=125)
        assert "already in use" in r.stderr and str(port) in r.stderr


def test_public_address_needs_auth_and_tls(servin):
    r = servin.fail("registry", "start", "--address", "0.0.0.0", "--port", "0", code=125)
    assert "--insecure-public" in r.stderr
    # --insecure-public: allowed with a warning (in a network namespace of our own, on a
    # non-loopback address that exists only there).
    script = ("ip link set lo up && ip addr add 10.254.99.1/32 dev lo && "
              "{ %s --root %s registry start --address 10.254.99.1 --port 0 --insecure-public & } ; "
              "sleep 1.5; kill $!; wait $!" % (servin.bin, servin.root))
    r = subprocess.run(["unshare", "-n", "sh", "-c", script], capture_output=True, text=True, timeout=60)
    assert "listening on http://10.254.99.1:" in r.stderr, r.stderr
    assert "warn" in r.stderr and "without authentication" in r.stderr


def test_detach_list_stop(servin):
    port = None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = servin.ok("registry", "start", "--detach", "--port", str(port))
    assert "Registry started on http://127.0.0.1:%d" % port in r.stdout
    try:
        assert curl("http://127.0.0.1:%d/v2/" % port) == "200"
        listing = servin.ok("registry", "list").stdout
        assert re.search(r"127\.0\.0\.1:%d\s+reachable.*pid \d+" % port, listing), listing
        servin.fail("registry", "start", "--detach", "--port", str(port))
    finally:
        r = servin.ok("registry", "stop", "--port", str(port))
    assert "stopped" in r.stdout
    assert curl("http://127.0.0.1:%d/v2/" % port) == "000"
    assert "127.0.0.1:%d" % port not in servin.ok("registry", "list").stdout
    servin.fail("registry", "stop", "--port", str(port))


def test_docker_cli_through_servin_daemon(servin, servin_registry, layouts):
    """The docker CLI, talking to `servin daemon`, pushes to and pulls from `servin registry`."""
    from daemon_util import DOCKER, start_daemon, teardown_daemon
    if DOCKER is None:
        pytest.skip("the docker CLI is not installed")
    reg = servin_registry("--storage", os.path.join(servin.tmp, "regstore"))
    imagebuild.push_layout(layouts["busybox"], reg.host + "/dk/busybox:latest")
    d = start_daemon()
    try:
        d.docker("pull", reg.host + "/dk/busybox:latest")
        target = reg.host + "/dk/pushed-by-docker:v1"
        d.docker("tag", reg.host + "/dk/busybox:latest", target)
        r = d.docker("push", target)
        assert "digest: sha256:" in r.stdout, r.stdout
        d.docker("rmi", target, reg.host + "/dk/busybox:latest")
        d.docker("pull", target)
        info = json.loads(d.docker("image", "inspect", target).stdout)[0]
        assert info["Id"] == layouts["busybox"].config_digest
        assert '"PUT /v2/dk/pushed-by-docker/manifests/v1" 201' in reg.log_text()
    finally:
        assert teardown_daemon(d) == 0, d.log_text()
