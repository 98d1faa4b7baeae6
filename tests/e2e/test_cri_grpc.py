"""The CRI gRPC transport and the runtime-level RPCs, driven by grpcio (not our code): Version,
Status, health, unknown methods, malformed messages, concurrency, the JSON gateway."""

import base64
import concurrent.futures
import json
import os
import socket
import subprocess
import time

from cri_client import REPO, CRIDaemon, api, api_grpc, code_of, cri, grpc, health  # noqa: F401


def test_version(cri):
    v = cri.runtime.Version(api.VersionRequest(version="v1"))
    assert v.runtime_name == "servin"
    assert v.runtime_api_version == "v1"
    assert v.version and v.runtime_version


def test_status_reports_runtime_and_network_conditions(cri):
    st = cri.runtime.Status(api.StatusRequest(verbose=True))
    conds = {c.type: c for c in st.status.conditions}
    assert conds["RuntimeReady"].status is True
    assert "NetworkReady" in conds
    if not conds["NetworkReady"].status:
        assert conds["NetworkReady"].reason and conds["NetworkReady"].message
    assert "config" in st.info


def test_health_check(cri):
    r = cri.health.Check(health.HealthCheckRequest())
    assert r.status == health.HealthCheckResponse.SERVING
    r = cri.health.Check(health.HealthCheckRequest(service="runtime.v1.RuntimeService"))
    assert r.status == health.HealthCheckResponse.SERVING
    code, _ = code_of(cri.health.Check, health.HealthCheckRequest(service="no.such.Service"))
    assert code == grpc.StatusCode.NOT_FOUND


def test_unknown_method_is_unimplemented(cri):
    code, details = code_of(cri.raw("/runtime.v1.RuntimeService/NoSuchThing"), b"")
    assert code == grpc.StatusCode.UNIMPLEMENTED
    assert "NoSuchThing" in details


def test_malformed_message_is_invalid_argument_and_the_server_lives(cri):
    code, details = code_of(cri.raw("/runtime.v1.RuntimeService/Version"), b"\xff\xff\xff\xff")
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "malformed" in details
    assert cri.runtime.Version(api.VersionRequest()).runtime_name == "servin"


def test_unimplemented_rpcs_say_so(cri):
    code, details = code_of(cri.runtime.ListMetricDescriptors, api.ListMetricDescriptorsRequest())
    assert code == grpc.StatusCode.UNIMPLEMENTED and details


def test_fifty_concurrent_calls_on_one_channel(cri):
    futures = [cri.runtime.Version.future(api.VersionRequest()) for _ in range(50)]
    assert all(f.result(timeout=30).runtime_name == "servin" for f in futures)
    with concurrent.futures.ThreadPoolExecutor(10) as ex:
        got = list(ex.map(lambda _: cri.runtime.Status(api.StatusRequest()).status.conditions[0].type, range(50)))
    assert got == ["RuntimeReady"] * 50


def test_runtime_config_and_update(cri):
    cri.runtime.UpdateRuntimeConfig(api.UpdateRuntimeConfigRequest(
        runtime_config=api.RuntimeConfig(network_config=api.NetworkConfig(pod_cidr="10.88.0.0/16"))))
    st = cri.runtime.Status(api.StatusRequest(verbose=True))
    assert "10.88.0.0/16" in st.info["config"]
    rc = cri.runtime.RuntimeConfig(api.RuntimeConfigRequest())
    assert rc.linux.cgroup_driver == api.CGROUPFS


def test_json_gateway(cri):
    status, body = cri.gateway("/v1/runtime/version", {"version": "v1"})
    assert status == 200 and body["runtimeName"] == "servin", body
    status, body = cri.gateway("/v1/runtime/status", {})
    assert status == 200 and body["status"]["conditions"][0]["type"] == "RuntimeReady"
    status, body = cri.gateway("/v1/runtime/nope", {})
    assert status == 404 and body["status"] == "NOT_FOUND"
    status, body = cri.gateway("/v1/runtime/version", "{not json")
    assert status == 400 and body["status"] == "INVALID_ARGUMENT"
    status, body = cri.gateway("/v1/runtime/status", {"verbose": "yes"})
    assert status == 400 and "verbose" in body["message"]
    status, body = cri.gateway("/v1", method="GET")
    assert status == 200 and any(p["path"] == "/v1/image/pull" for p in body)
    # curl, as a user would type it
    r = subprocess.run(["curl", "-sS", "--unix-socket", cri.sock, "-XPOST", "http://x/v1/runtime/version"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and json.loads(r.stdout)["runtimeApiVersion"] == "v1", r
    r = subprocess.run(["curl", "-sS", "-w", "%{http_code}", "-o", "/dev/null", "--unix-socket", cri.sock, "-XPOST",
                        "-d", '{"image": {"image": "no/such:image"}}', "http://x/v1/image/remove"],
                       capture_output=True, text=True, timeout=30)
    assert r.stdout == "200", r


def test_compressed_messages_are_refused_clearly(cri):
    # grpc compresses only what gets smaller: a long, repetitive field
    code, details = code_of(cri.runtime.Version, api.VersionRequest(version="v1" * 5000),
                            compression=grpc.Compression.Gzip)
    assert code == grpc.StatusCode.UNIMPLEMENTED
    assert "compress" in details


def test_oversized_request_is_resource_exhausted(cri):
    code, details = code_of(cri.raw("/runtime.v1.RuntimeService/Version"), b"\0" * (17 << 20))
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED, details
    assert cri.runtime.Version(api.VersionRequest()).runtime_name == "servin"


def test_deadline_exceeded_on_a_pull_that_hangs(cri):
    # A "registry" that accepts connections and never answers: the pull blocks in its handler,
    # the server answers DEADLINE_EXCEEDED at the deadline, and other calls go on meanwhile.
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(16)
    try:
        ref = "127.0.0.1:%d/hangs/forever:1" % hole.getsockname()[1]
        fut = cri.image.PullImage.future(api.PullImageRequest(image=api.ImageSpec(image=ref)), timeout=1.5)
        assert cri.runtime.Version(api.VersionRequest()).runtime_name == "servin"
        start = time.time()
        try:
            fut.result()
            raise AssertionError("the pull succeeded")
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.DEADLINE_EXCEEDED, e
        assert time.time() - start < 5
        # A call the client cancels (RST_STREAM) while its handler blocks: the server carries on.
        fut = cri.image.PullImage.future(api.PullImageRequest(image=api.ImageSpec(image=ref)))
        time.sleep(0.3)
        assert fut.cancel()
        assert cri.runtime.Status(api.StatusRequest()).status.conditions
    finally:
        hole.close()
    assert cri.runtime.Version(api.VersionRequest()).runtime_name == "servin"


def test_garbage_on_the_socket_does_not_hurt_the_server(cri):
    preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    for junk in (b"\x00\x01\x02 garbage\r\n\r\n", preface + b"\xff" * 64, preface[:10], b"GET / HTTP/1.1\r\n"):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        s.connect(cri.sock)
        s.sendall(junk)
        s.shutdown(socket.SHUT_WR)
        try:
            while s.recv(4096):
                pass
        except OSError:
            pass
        s.close()
    assert cri.runtime.Version(api.VersionRequest()).runtime_name == "servin"
    status, body = cri.gateway("/v1/runtime/version", {})
    assert status == 200


# ---- images ----

def image_ids(cri):
    return {i.id for i in cri.image.ListImages(api.ListImagesRequest()).images}


def test_pull_status_list_fsinfo_remove(cri, pushed):
    p = pushed["busybox"]
    r = cri.image.PullImage(api.PullImageRequest(image=api.ImageSpec(image=p.ref)))
    assert r.image_ref == p.image_id
    imgs = cri.image.ListImages(api.ListImagesRequest()).images
    img = [i for i in imgs if i.id == p.image_id][0]
    assert p.ref in img.repo_tags
    assert any(d.endswith(p.digest) for d in img.repo_digests), img.repo_digests
    assert img.size > 0
    assert img.uid.value == 0 or img.username
    # The filter: by reference, by id; one naming nothing matches nothing.
    for name in (p.ref, p.image_id):
        got = cri.image.ListImages(api.ListImagesRequest(filter=api.ImageFilter(image=api.ImageSpec(image=name))))
        assert [i.id for i in got.images] == [p.image_id]
    got = cri.image.ListImages(api.ListImagesRequest(filter=api.ImageFilter(image=api.ImageSpec(image="no/such:1"))))
    assert list(got.images) == []

    st = cri.image.ImageStatus(api.ImageStatusRequest(image=api.ImageSpec(image=p.ref), verbose=True))
    assert st.image.id == p.image_id and p.ref in st.image.repo_tags
    assert p.image_id in st.info["info"]
    st = cri.image.ImageStatus(api.ImageStatusRequest(image=api.ImageSpec(image="no/such:image")))
    assert not st.HasField("image")
    code, _ = code_of(cri.image.ImageStatus, api.ImageStatusRequest())
    assert code == grpc.StatusCode.INVALID_ARGUMENT

    fs = cri.image.ImageFsInfo(api.ImageFsInfoRequest())
    assert len(fs.image_filesystems) == 1
    u = fs.image_filesystems[0]
    assert u.used_bytes.value > 0 and u.inodes_used.value > 0 and u.timestamp > 0
    assert u.fs_id.mountpoint == cri.servin.root

    # The JSON gateway sees the same store.
    status, body = cri.gateway("/v1/image/list", {})
    assert status == 200 and p.image_id in [i["id"] for i in body["images"]]
    status, body = cri.gateway("/v1/image/status", {"image": {"image": p.ref}})
    assert status == 200 and body["image"]["id"] == p.image_id

    cri.image.RemoveImage(api.RemoveImageRequest(image=api.ImageSpec(image=p.ref)))
    assert p.image_id not in image_ids(cri)
    cri.image.RemoveImage(api.RemoveImageRequest(image=api.ImageSpec(image=p.ref)))  # idempotent
    assert not cri.image.ImageStatus(api.ImageStatusRequest(image=api.ImageSpec(image=p.ref))).HasField("image")


def test_pull_errors(cri, pushed):
    code, details = code_of(cri.image.PullImage, api.PullImageRequest(image=api.ImageSpec(image="BAD//ref")))
    assert code == grpc.StatusCode.INVALID_ARGUMENT, details
    code, details = code_of(cri.image.PullImage, api.PullImageRequest())
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    missing = pushed["busybox"].repo + ":no-such-tag"
    code, details = code_of(cri.image.PullImage, api.PullImageRequest(image=api.ImageSpec(image=missing)))
    assert code != grpc.StatusCode.OK and "no-such-tag" in details


def test_pull_with_basic_auth(cri, pushed, auth_registry):
    p = pushed["auth_busybox"]
    spec = api.ImageSpec(image=p.ref)
    code, details = code_of(cri.image.PullImage, api.PullImageRequest(image=spec))
    assert code == grpc.StatusCode.UNAUTHENTICATED, details
    bad = api.AuthConfig(username=auth_registry.user, password="wrong")
    code, details = code_of(cri.image.PullImage, api.PullImageRequest(image=spec, auth=bad))
    assert code == grpc.StatusCode.UNAUTHENTICATED, details
    good = api.AuthConfig(username=auth_registry.user, password=auth_registry.password)
    assert cri.image.PullImage(api.PullImageRequest(image=spec, auth=good)).image_ref == p.image_id
    cri.image.RemoveImage(api.RemoveImageRequest(image=spec))
    b64 = base64.b64encode(("%s:%s" % (auth_registry.user, auth_registry.password)).encode()).decode()
    r = cri.image.PullImage(api.PullImageRequest(image=spec, auth=api.AuthConfig(auth=b64)))
    assert r.image_ref == p.image_id
    cri.image.RemoveImage(api.RemoveImageRequest(image=spec))
    # No credentials file is left behind in the store.
    tmp = os.path.join(cri.servin.root, "tmp")
    assert not [f for f in (os.listdir(tmp) if os.path.isdir(tmp) else []) if f.startswith("cri-auth")]


def test_pull_with_token_auth(cri, pushed, token_registry):
    p = pushed["token_busybox"]
    spec = api.ImageSpec(image=p.ref)
    code, _ = code_of(cri.image.PullImage, api.PullImageRequest(image=spec))
    assert code == grpc.StatusCode.UNAUTHENTICATED
    auth = api.AuthConfig(username=token_registry.user, password=token_registry.password)
    assert cri.image.PullImage(api.PullImageRequest(image=spec, auth=auth)).image_ref == p.image_id
    cri.image.RemoveImage(api.RemoveImageRequest(image=spec))
    # registry_token: a bearer token the registry accepts as it is (no token server involved).
    token = token_registry.issuer.token(token_registry.user, [
        {"type": "repository", "name": "auth/busybox", "actions": ["pull"]}])
    del token_registry.token_requests[:]
    r = cri.image.PullImage(api.PullImageRequest(image=spec, auth=api.AuthConfig(registry_token=token)))
    assert r.image_ref == p.image_id
    assert token_registry.token_requests == []
    cri.image.RemoveImage(api.RemoveImageRequest(image=spec))
    # identity_token: an OAuth2 refresh token traded at the realm.
    ident = api.AuthConfig(identity_token="servin-refresh-" + token_registry.user)
    assert cri.image.PullImage(api.PullImageRequest(image=spec, auth=ident)).image_ref == p.image_id
    cri.image.RemoveImage(api.RemoveImageRequest(image=spec))
    code, _ = code_of(cri.image.PullImage, api.PullImageRequest(image=spec, auth=api.AuthConfig(identity_token="bad")))
    assert code == grpc.StatusCode.UNAUTHENTICATED


# ---- servin cri status / test ----

def test_cri_status_and_test_commands(cri):
    r = cri.servin.ok("cri", "status", "--cri-socket", cri.sock)
    assert "servin" in r.stdout and "RuntimeReady     true" in r.stdout, r.stdout
    j = json.loads(cri.servin.ok("cri", "status", "--cri-socket", cri.sock, "--format", "json").stdout)
    assert j["version"]["runtimeApiVersion"] == "v1"
    assert [c["type"] for c in j["status"]["status"]["conditions"]] == ["RuntimeReady", "NetworkReady"]
    r = cri.servin.ok("cri", "test", "--cri-socket", cri.sock)
    assert "all checks passed" in r.stdout, r.stdout
    assert "Health/Check" in r.stdout and "UNIMPLEMENTED" in r.stdout
    r = cri.servin.fail("cri", "status", "--cri-socket", os.path.join(cri.tmp, "nothing.sock"))
    assert "is `servin daemon` running?" in r.stderr


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_default_cri_socket_is_in_the_stores_run_dir_and_tcp_is_loopback():
    port = free_port()
    d = CRIDaemon(cri_socket=False, extra=["--cri-port", str(port)]).start()
    try:
        assert os.path.exists(os.path.join(d.servin.root, "run", "cri.sock"))
        r = d.servin.ok("cri", "test")
        assert "all checks passed" in r.stdout, r.stdout
        with grpc.insecure_channel("127.0.0.1:%d" % port) as ch:
            v = api_grpc.RuntimeServiceStub(ch).Version(api.VersionRequest(), timeout=10)
            assert v.runtime_name == "servin"
    finally:
        d.cleanup()
    # cri.listen_address ($SERVIN_CRI_LISTEN) must be loopback.
    bad = CRIDaemon()
    try:
        r = bad.servin.fail("daemon", "-H", "unix://" + bad.docker_sock, env={"SERVIN_CRI_LISTEN": "0.0.0.0:%d" % port})
        assert "loopback" in r.stderr
    finally:
        bad.cleanup()


def test_image_user_is_uid_or_username(cri, tmp_path):
    tar = str(tmp_path / "rootfs.tar")
    subprocess.run([os.path.join(REPO, "scripts", "make-busybox-rootfs"), tar], check=True)
    cri.servin.ok("import", "-c", "USER 1000:1000", tar, "localhost/cri-user/numeric:1")
    cri.servin.ok("import", "-c", "USER nobody", tar, "localhost/cri-user/named:1")
    for _ in range(2):  # the second answer comes from the daemon's cache: the same
        imgs = {t: i for i in cri.image.ListImages(api.ListImagesRequest()).images for t in i.repo_tags}
        numeric = imgs["localhost/cri-user/numeric:1"]
        assert numeric.HasField("uid") and numeric.uid.value == 1000 and numeric.username == ""
        named = imgs["localhost/cri-user/named:1"]
        assert not named.HasField("uid") and named.username == "nobody"
    for ref in ("localhost/cri-user/numeric:1", "localhost/cri-user/named:1"):
        cri.image.RemoveImage(api.RemoveImageRequest(image=api.ImageSpec(image=ref)))
