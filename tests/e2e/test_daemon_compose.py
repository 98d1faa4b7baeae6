"""Debian's docker-compose (1.29, through docker-py) against `servin daemon`: a two-service stack
(web + a client calling it by name, a named volume, a published port) and issue 10's three-service
stack (a web server built from a Buildfile, a key-value service from the busybox image, a one-shot
job that must complete first). up -d, ps, logs, up -d again, down -v leaving nothing behind."""

import json
import os
import shutil
import subprocess
import time
import urllib.request

import pytest

from conftest import free_port
from daemon_util import DOCKER, start_daemon, teardown_daemon

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IMAGE = "localhost/bb:latest"
COMPOSE = shutil.which("docker-compose")
pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="containers need root"),
              pytest.mark.skipif(DOCKER is None, reason="the docker CLI is not installed"),
              pytest.mark.skipif(COMPOSE is None, reason="docker-compose is not installed")]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    path = tmp_path_factory.mktemp("bb-rootfs") / "rootfs.tar"
    subprocess.run([os.path.join(REPO, "scripts", "make-busybox-rootfs"), str(path)], check=True)
    d = start_daemon()
    d.servin.ok("import", "-c", 'CMD ["sh"]', str(path), IMAGE)
    yield d
    assert teardown_daemon(d) == 0, d.log_text()


def compose(daemon, project_dir, *args, check=True, timeout=180):
    env = dict(os.environ, DOCKER_HOST=daemon.host, DOCKER_CONFIG=daemon.docker_config,
               COMPOSE_DOCKER_CLI_BUILD="0")
    env.pop("DOCKER_CONTEXT", None)
    r = subprocess.run([COMPOSE] + list(args), cwd=project_dir, capture_output=True, text=True,
                       timeout=timeout, env=env)
    if check and r.returncode != 0:
        raise AssertionError("docker-compose %s failed (%d)\nstdout: %s\nstderr: %s\ndaemon log:\n%s" % (
            " ".join(args), r.returncode, r.stdout, r.stderr, daemon.log_text()))
    return r


def fetch(url, want=None, timeout=20):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            body = urllib.request.urlopen(url, timeout=2).read().decode()
            if want is None or want in body:
                return body
            last = body
        except OSError as e:
            last = e
        time.sleep(0.2)
    raise AssertionError("%s never answered %r: last %r" % (url, want, last))


def nothing_left(daemon, project):
    assert daemon.docker("ps", "-aq", "--filter", "label=com.docker.compose.project=" + project).stdout.strip() == ""
    nets = daemon.docker("network", "ls", "--format", "{{.Name}}").stdout.split()
    assert not [n for n in nets if n.startswith(project + "_")], nets
    vols = daemon.docker("volume", "ls", "-q").stdout.split()
    assert not [v for v in vols if v.startswith(project + "_")], vols


TWO = """version: "3.8"
services:
  web:
    image: localhost/bb:latest
    command: sh -c "mkdir -p /www && echo hello-from-web > /www/index.html && echo web-ready && httpd -f -p 80 -h /www"
    ports:
      - "127.0.0.1:{port}:80"
    volumes:
      - data:/data
  client:
    image: localhost/bb:latest
    command: sh -c "until wget -qO- http://web/; do sleep 0.2; done; sleep 300"
    depends_on:
      - web
volumes:
  data:
"""


def test_two_service_stack(daemon, tmp_path):
    proj = tmp_path / "twostack"
    proj.mkdir()
    port = free_port()
    (proj / "docker-compose.yml").write_text(TWO.format(port=port))
    r = compose(daemon, proj, "up", "-d")
    assert "twostack_web_1" in r.stderr and "twostack_client_1" in r.stderr, r.stderr
    assert fetch("http://127.0.0.1:%d/" % port) == "hello-from-web\n"
    ps = compose(daemon, proj, "ps").stdout
    rows = [l.split()[0] for l in ps.splitlines()[2:] if l.strip()]
    assert sorted(rows) == ["twostack_client_1", "twostack_web_1"], ps
    assert "127.0.0.1:%d->80/tcp" % port in ps
    # The client reached the web service by its name.
    deadline = time.time() + 20
    while "hello-from-web" not in compose(daemon, proj, "logs", "client").stdout and time.time() < deadline:
        time.sleep(0.3)
    logs = compose(daemon, proj, "logs", "--no-color").stdout
    assert "client_1  | hello-from-web" in logs and "web_1     | web-ready" in logs, logs
    # The resources are Docker Compose's, labelled as it labels them.
    info = json.loads(daemon.docker("inspect", "twostack_web_1").stdout)[0]
    labels = info["Config"]["Labels"]
    assert labels["com.docker.compose.project"] == "twostack"
    assert labels["com.docker.compose.service"] == "web"
    assert "twostack_default" in info["NetworkSettings"]["Networks"]
    assert "web" in info["NetworkSettings"]["Networks"]["twostack_default"]["Aliases"]
    assert info["Mounts"][0]["Name"] == "twostack_data"
    # Again: nothing changed, nothing is recreated.
    r = compose(daemon, proj, "up", "-d")
    assert "is up-to-date" in r.stderr and "Recreating" not in r.stderr, r.stderr
    compose(daemon, proj, "down", "-v", "-t", "1")
    nothing_left(daemon, "twostack")


BUILDFILE = """FROM localhost/bb:latest
RUN mkdir -p /www
COPY start.sh /start.sh
CMD ["sh", "/start.sh"]
"""

# The web server's page is made at start from what the job left in the shared volume and what the
# key-value service answers by name.
START = """set -e
job=$(cat /shared/job-done)
kv=$(wget -qO- http://kv:7000/greeting)
echo "job=$job kv=$kv" > /www/index.html
exec httpd -f -p 80 -h /www
"""

THREE = """version: "3.8"
services:
  web:
    build:
      context: ./web
      dockerfile: Buildfile
    image: threestack-web:dev
    ports:
      - "127.0.0.1:{port}:80"
    volumes:
      - shared:/shared
    depends_on:
      kv:
        condition: service_started
      job:
        condition: service_completed_successfully
  kv:
    image: localhost/bb:latest
    command: sh -c "mkdir -p /kv && echo hi-from-kv > /kv/greeting && httpd -f -p 7000 -h /kv"
  job:
    image: localhost/bb:latest
    command: sh -c "sleep 1; echo done-at-$$(date +%s) > /shared/job-done"
    volumes:
      - shared:/shared
volumes:
  shared:
"""


def test_three_service_stack_with_build_and_completed_job(daemon, tmp_path):
    proj = tmp_path / "threestack"
    (proj / "web").mkdir(parents=True)
    (proj / "web" / "Buildfile").write_text(BUILDFILE)
    (proj / "web" / "start.sh").write_text(START)
    port = free_port()
    (proj / "docker-compose.yml").write_text(THREE.format(port=port))
    compose(daemon, proj, "build")
    assert daemon.docker("images", "-q", "threestack-web:dev").stdout.strip()
    r = compose(daemon, proj, "up", "-d")
    err = r.stderr
    # The job ran to completion before the web server was created.
    assert err.index("threestack_job_1") < err.index("threestack_web_1"), err
    body = fetch("http://127.0.0.1:%d/" % port, want="kv=")
    assert body.startswith("job=done-at-") and body.strip().endswith("kv=hi-from-kv"), body
    job = json.loads(daemon.docker("inspect", "threestack_job_1").stdout)[0]
    web = json.loads(daemon.docker("inspect", "threestack_web_1").stdout)[0]
    assert job["State"]["Status"] == "exited" and job["State"]["ExitCode"] == 0
    assert web["State"]["Running"] is True
    ps = compose(daemon, proj, "ps").stdout
    assert "Exit 0" in ps and ps.count(" Up ") >= 2, ps
    compose(daemon, proj, "down", "-v", "-t", "1", "--rmi", "local")
    nothing_left(daemon, "threestack")
