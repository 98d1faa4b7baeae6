"""`servin daemon` image endpoints, driven by the real docker CLI (pull from the test registry, images,
inspect, history, tag, rmi, push, save/load, prune, search) and raw HTTP for shapes and errors."""

import json
import os

import pytest

from daemon_util import DOCKER, start_daemon, teardown_daemon

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="the daemon runs as root"),
              pytest.mark.skipif(DOCKER is None, reason="the docker CLI is not installed")]


@pytest.fixture
def daemon(servin_bin):
    d = start_daemon()
    yield d
    assert teardown_daemon(d) == 0, d.log_text()


def test_pull_list_inspect_history(daemon, pushed):
    p = pushed["busybox"]
    r = daemon.docker("pull", p.ref)
    assert "Downloaded newer image" in r.stdout, r.stdout
    assert daemon.docker("pull", p.ref).stdout.count("Image is up to date") == 1
    lines = daemon.docker("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}").stdout.splitlines()
    assert "%s %s" % (p.ref, p.image_id[7:19]) in lines, lines
    info = json.loads(daemon.docker("image", "inspect", p.ref).stdout)[0]
    assert info["Id"] == p.image_id
    assert p.ref in info["RepoTags"]
    hist = daemon.docker("history", "--format", "{{.ID}}", p.ref).stdout.split()
    assert hist[0] == p.image_id[7:19]
    # The same image through the CLI's view of the store.
    assert p.image_id in daemon.servin.ok("images", "-q", "--no-trunc").stdout


def test_pull_progress_stream_is_json(daemon, pushed):
    p = pushed["multilayer"]
    repo, tag = p.ref.rsplit(":", 1)
    r = daemon.request("POST", "/v1.43/images/create?fromImage=%s&tag=%s" % (repo, tag))
    assert r.status == 200
    msgs = [json.loads(l) for l in r.body.decode().splitlines() if l.strip()]
    assert any(m.get("status") == "Pull complete" and m.get("id") for m in msgs), msgs
    assert msgs[-1]["status"].startswith("Status: Downloaded newer image for")


def test_pull_error_in_stream(daemon, registry):
    r = daemon.docker("pull", "%s/test/does-not-exist:latest" % registry.host, check=False)
    assert r.returncode != 0
    assert "does-not-exist" in r.stderr or "not found" in r.stderr.lower(), r.stderr


def test_tag_rmi_push(daemon, pushed, registry):
    p = pushed["busybox"]
    daemon.docker("pull", p.ref)
    new = "%s/test/daemon-pushed:v1" % registry.host
    daemon.docker("tag", p.ref, new)
    assert new in daemon.docker("images", "--format", "{{.Repository}}:{{.Tag}}").stdout
    r = daemon.docker("push", new)
    assert "digest: sha256:" in r.stdout, r.stdout
    r = daemon.docker("rmi", new)
    assert "Untagged: " + new in r.stdout
    assert new not in daemon.docker("images", "--format", "{{.Repository}}:{{.Tag}}").stdout
    # What we pushed comes back.
    daemon.docker("pull", new)
    info = json.loads(daemon.docker("image", "inspect", new).stdout)[0]
    assert info["Id"] == p.image_id


def test_save_load_prune(daemon, pushed, tmp_path):
    p = pushed["busybox"]
    daemon.docker("pull", p.ref)
    tar = tmp_path / "img.tar"
    daemon.docker("save", "-o", str(tar), p.ref)
    assert tar.stat().st_size > 10000
    daemon.docker("rmi", p.ref)
    assert daemon.docker("images", "-q").stdout.strip() == ""
    r = daemon.docker("load", "-i", str(tar))
    assert "Loaded image" in r.stdout, r.stdout
    assert p.image_id[7:19] in daemon.docker("images", "-q").stdout
    r = daemon.docker("image", "prune", "-f")
    assert "Total reclaimed space" in r.stdout


def test_image_errors(daemon):
    r = daemon.request("GET", "/v1.43/images/nope:latest/json")
    assert r.status == 404
    assert r.json()["message"] == "No such image: nope:latest"
    r = daemon.request("DELETE", "/v1.43/images/nope")
    assert r.status == 404
    r = daemon.request("POST", "/v1.43/images/nope/tag?repo=x")
    assert r.status == 404
    r = daemon.request("GET", "/v1.43/images/search?term=busybox")
    assert r.status == 501
    assert "not supported" in r.json()["message"]
    r = daemon.docker("search", "busybox", check=False)
    assert r.returncode != 0 and "not supported" in r.stderr
    assert daemon.request("GET", "/v1.43/images/json").json() == []
