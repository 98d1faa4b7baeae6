"""POST /build through `servin daemon`: the same code as `servin build`, so the same context gives the
same image ID whichever front end built it; raw HTTP for the message shapes, and the docker CLI's
classic builder (DOCKER_BUILDKIT=0)."""

import io
import json
import os
import subprocess
import tarfile

import pytest

from daemon_util import DOCKER, start_daemon, teardown_daemon

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the daemon and builds run as root")

BUILDFILE = "FROM localhost/bb\nCOPY hello.txt /hello.txt\nRUN cat /hello.txt > /copy\nENV X=1\nCMD [\"cat\", \"/copy\"]\n"


@pytest.fixture
def daemon(servin_bin, tmp_path):
    d = start_daemon()
    rootfs = tmp_path / "rootfs.tar"
    subprocess.run([os.path.join(REPO, "scripts", "make-busybox-rootfs"), str(rootfs)], check=True)
    d.servin.ok("import", str(rootfs), "localhost/bb:latest")
    yield d
    assert teardown_daemon(d) == 0, d.log_text()


def context_dir(tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(BUILDFILE)
    (ctx / "hello.txt").write_text("hello from the context\n")
    return ctx


def tar_of(ctx):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name in sorted(os.listdir(ctx)):
            t.add(str(ctx / name), arcname=name)
    return buf.getvalue()


def messages(body):
    return [json.loads(l) for l in body.decode().splitlines() if l.strip()]


def test_build_endpoint_gives_the_same_image_id_as_the_cli(daemon, tmp_path):
    ctx = context_dir(tmp_path)
    cli_id = daemon.servin.ok("build", "-q", "-t", "cli:1", str(ctx)).stdout.strip()
    r = daemon.request("POST", "/build?t=api:1&t=api:2", body=tar_of(ctx),
                       headers={"Content-Type": "application/x-tar"}, timeout=300)
    assert r.status == 200, r
    msgs = messages(r.body)
    ids = [m["aux"]["ID"] for m in msgs if "aux" in m]
    assert ids == [cli_id], msgs
    assert any("Step 2/5 : COPY hello.txt /hello.txt" in m.get("stream", "") for m in msgs), msgs
    tags = daemon.servin.json("image", "inspect", cli_id)[0]["RepoTags"]
    assert sorted(tags) == ["api:1", "api:2", "cli:1"]
    out = daemon.servin.ok("run", "--rm", "api:1").stdout
    assert out == "hello from the context\n"


def test_build_endpoint_reports_a_failing_step_in_the_stream(daemon, tmp_path):
    ctx = tmp_path / "bad"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM localhost/bb\nRUN echo failing-output; exit 3\n")
    r = daemon.request("POST", "/build", body=tar_of(ctx), timeout=300)
    assert r.status == 200, r
    msgs = messages(r.body)
    assert any("failing-output" in m.get("stream", "") for m in msgs), msgs
    err = [m for m in msgs if "error" in m]
    assert len(err) == 1 and "non-zero code: 3" in err[0]["error"], msgs
    r = daemon.request("POST", "/build?buildargs=notjson", body=tar_of(ctx))
    assert r.status == 400


@pytest.mark.skipif(DOCKER is None, reason="the docker CLI is not installed")
def test_docker_build_through_the_daemon(daemon, tmp_path):
    ctx = context_dir(tmp_path)
    cli_id = daemon.servin.ok("build", "-q", str(ctx)).stdout.strip()
    r = daemon.docker("build", "-q", "-t", "dk:1", str(ctx), env={"DOCKER_BUILDKIT": "0"}, check=False)
    if r.returncode != 0 and "buildx" in (r.stderr + r.stdout):
        pytest.skip("this docker CLI insists on BuildKit: %s" % r.stderr.strip())
    assert r.returncode == 0, (r.stdout, r.stderr, daemon.log_text())
    assert r.stdout.strip() == cli_id


def test_build_stream_shows_each_step_as_it_happens(daemon, tmp_path):
    from daemon_util import UnixHTTPConnection
    import time
    ctx = tmp_path / "slow"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM localhost/bb\nRUN echo before-sleep; sleep 2; echo after-sleep\n")
    conn = UnixHTTPConnection(daemon.sock, timeout=120)
    start = time.monotonic()
    conn.request("POST", "/build?t=slow:1", body=tar_of(ctx), headers={"Content-Type": "application/x-tar"})
    r = conn.getresponse()
    assert r.status == 200
    seen, first_at, step2_at = [], None, None
    while True:
        line = r.readline()
        if not line:
            break
        if not line.strip():
            continue
        msg = json.loads(line)
        seen.append(msg)
        now = time.monotonic() - start
        if first_at is None:
            first_at = now
        if step2_at is None and "before-sleep" in msg.get("stream", ""):
            step2_at = now
    total = time.monotonic() - start
    conn.close()
    assert any("aux" in m for m in seen), seen
    # The step's first output came while it still slept, not with the end of the build.
    assert first_at is not None and step2_at is not None, seen
    assert total - step2_at >= 1.5, (first_at, step2_at, total, seen)
    assert total - first_at >= 1.5


def test_a_client_that_goes_away_stops_the_build_and_leaves_nothing(daemon, tmp_path):
    from daemon_util import UnixHTTPConnection
    import time
    ctx = tmp_path / "abandoned"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM localhost/bb\nRUN echo started; sleep 2\nRUN echo 3\nRUN echo 4\n"
                                    "RUN echo 5\nRUN echo 6\n")
    conn = UnixHTTPConnection(daemon.sock, timeout=120)
    conn.request("POST", "/build?t=gone:1", body=tar_of(ctx), headers={"Content-Type": "application/x-tar"})
    r = conn.getresponse()
    assert r.status == 200
    while b"started" not in r.readline():
        pass
    conn.close()
    # The step goes on to its end; the build stops soon after.
    time.sleep(5)
    root = str(daemon.servin.root)
    with open("/proc/self/mountinfo") as f:
        mounted = [l for l in f if root in l and "/containers/" in l]
    containers = os.path.join(root, "containers")
    left = os.listdir(containers) if os.path.isdir(containers) else []
    assert not mounted and not left, (mounted, left)
    assert daemon.servin("image", "inspect", "gone:1", check=False).returncode != 0
    # The sleeping step finished and was cached; the build stopped at the next message it could not
    # send (the daemon learns of the closed connection a step or so late), long before the end.
    out = daemon.servin.ok("build", str(ctx)).stdout
    cached = []
    for line in out.splitlines():
        if line.startswith("STEP "):
            cached.append(False)
        elif line.startswith("--> Using cache") and cached:
            cached[-1] = True
    assert cached[:2] == [False, True] and cached[-2:] == [False, False], out
