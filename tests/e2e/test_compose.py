"""`servin compose`: a stack of four services from images the tests make, brought up, changed, scaled
and taken down again, and nothing of it left behind.

The stack (one store, one project, shared by the tests of this file, which run in order):
  job     one-shot (busybox): writes a seed file into the volume `data` and exits 0
  kv      busybox httpd on :8080 serving its KV_VALUE and the job's seed; depends on job
          (service_completed_successfully); a health check
  web     built from a Buildfile (FROM the busybox image): busybox httpd on :80, published on
          127.0.0.1; CGI scripts that reach kv by name; depends on kv (service_healthy)
  worker  a shell loop, scaled later
The default network gets a random unused 10.x.y.0/24 so that parallel tests never share a subnet.
"""

import json
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import urllib.request

import pytest

from conftest import Servin

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/usr/lib/podman/netavark"),
                                reason="compose stacks need root and netavark")
IMAGE = "localhost/bb:latest"

BUILDFILE = """FROM localhost/bb:latest
COPY www /www
CMD ["httpd", "-f", "-p", "80", "-h", "/www"]
"""

# busybox-static's wget cannot resolve names (glibc NSS in a static binary): nslookup asks the
# network's DNS server, then wget goes by address.
CGI_FETCH = """#!/bin/sh
echo "Content-Type: text/plain"
echo
a=$(nslookup kv 2>/dev/null | awk '/^Address: /{x=$2} END{print x}')
wget -q -O- "http://$a:8080/%s"
"""

CGI_ENV = """#!/bin/sh
echo "Content-Type: text/plain"
echo
echo "greeting=$GREETING"
"""

COMPOSE = """
services:
  job:
    image: localhost/bb:latest
    command: ["sh", "-c", "echo seeded > /data/seed; echo job done"]
    volumes:
      - data:/data
  kv:
    image: localhost/bb:latest
    init: true
    command: ["sh", "-c", "mkdir -p /www && echo kv=$$KV_VALUE > /www/key && cp /data/seed /www/seed && echo kv ready && exec httpd -f -p 8080 -h /www"]
    environment:
      KV_VALUE: %(kv_value)s
    volumes:
      - data:/data:ro
    depends_on:
      job:
        condition: service_completed_successfully
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/key"]
      interval: 1s
      retries: 30
  web:
    build: ./web
    init: true
    ports:
      - "127.0.0.1:%(port)d:80"
    environment:
      - GREETING=hello
    depends_on:
      kv:
        condition: service_healthy
  worker:
    image: localhost/bb:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; echo worker up; while true; do sleep 1; done"]
networks:
  default:
    ipam:
      config:
        - subnet: %(subnet)s
volumes:
  data: {}
"""


def routed(prefix):
    return prefix in subprocess.run(["ip", "route"], capture_output=True, text=True).stdout


def unique_subnet():
    for _ in range(200):
        a, b = random.randint(200, 250), random.randint(0, 255)
        prefix = "10.%d.%d." % (a, b)
        if not routed(prefix):
            return prefix + "0/24", prefix
    raise AssertionError("no free test subnet")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def wait_http(url, deadline=20):
    end = time.time() + deadline
    while True:
        try:
            return http_get(url)
        except OSError:
            if time.time() > end:
                raise
            time.sleep(0.2)


def mounts_under(root):
    with open("/proc/self/mountinfo") as f:
        return [l for l in f if root in l]


class Stack:
    def __init__(self, servin, project, port, subnet, prefix):
        self.servin = servin
        self.project = project
        self.port = port
        self.subnet = subnet
        self.prefix = prefix
        self.dir = os.path.join(servin.tmp, "proj")
        self.kv_value = "one"

    def write(self):
        with open(os.path.join(self.dir, "compose.yaml"), "w") as f:
            f.write(COMPOSE % {"kv_value": self.kv_value, "port": self.port, "subnet": self.subnet})

    def compose(self, *args, check=True, **kw):
        kw.setdefault("cwd", self.dir)
        return self.servin("compose", "-p", self.project, *args, check=check, **kw)

    def ids(self):
        """name -> id of every container of the project (one-offs too)."""
        out = {}
        r = self.servin.ok("ps", "-a", "--no-trunc", "--filter", "label=com.docker.compose.project=" + self.project,
                           "--format", "{{.Names}} {{.ID}}")
        for line in r.stdout.splitlines():
            if line.strip():
                name, cid = line.split()
                out[name] = cid
        return out


@pytest.fixture(scope="module")
def stack(servin_bin):
    tmp = tempfile.mkdtemp(prefix="svc-", dir="/tmp")
    servin = Servin(tmp)
    rootfs = os.path.join(tmp, "rootfs.tar")
    subprocess.run([os.path.join(REPO, "scripts", "make-busybox-rootfs"), rootfs], check=True)
    servin.ok("import", "-c", 'CMD ["sh"]', rootfs, IMAGE)
    subnet, prefix = unique_subnet()
    project = "st%d" % random.randint(0, 1 << 30)
    s = Stack(servin, project, free_port(), subnet, prefix)
    www = os.path.join(s.dir, "web", "www")
    os.makedirs(os.path.join(www, "cgi-bin"))
    with open(os.path.join(s.dir, "web", "Buildfile"), "w") as f:
        f.write(BUILDFILE)
    with open(os.path.join(www, "index.html"), "w") as f:
        f.write("<h1>web of the stack</h1>\n")
    for name, text in (("kv", CGI_FETCH % "key"), ("seed", CGI_FETCH % "seed"), ("env", CGI_ENV)):
        p = os.path.join(www, "cgi-bin", name)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, 0o755)
    s.write()
    yield s
    # Whatever a failing test left: the project's containers, then its network and volume.
    s.compose("down", "-v", "-t", "1", check=False)
    for cid in servin.lines("ps", "-aq", "--no-trunc", check=False):
        servin("rm", "-f", cid, check=False)
    servin("network", "rm", project + "_default", check=False)
    shutil.rmtree(tmp, ignore_errors=True)


def test_up_detached_starts_in_dependency_order(stack):
    r = stack.compose("up", "-d")
    progress = r.stderr
    # job ran to completion before kv started, and kv was healthy before web started.
    p = stack.project
    assert progress.index("Container %s-job-1  Started" % p) < progress.index("Container %s-kv-1  Started" % p)
    assert progress.index("Container %s-kv-1  Started" % p) < progress.index("Container %s-web-1  Started" % p)
    assert "Network %s_default  Created" % p in progress
    assert "Volume %s_data  Created" % p in progress
    job = stack.servin.json("inspect", "%s-job-1" % p)[0]
    kv = stack.servin.json("inspect", "%s-kv-1" % p)[0]
    web = stack.servin.json("inspect", "%s-web-1" % p)[0]
    assert job["State"]["Status"] == "exited" and job["State"]["ExitCode"] == 0
    assert job["State"]["FinishedAt"] <= kv["State"]["StartedAt"]
    assert kv["State"]["Health"]["Status"] == "healthy"
    assert web["State"]["Status"] == "running"
    labels = web["Config"]["Labels"]
    assert labels["com.docker.compose.project"] == p
    assert labels["com.docker.compose.service"] == "web"
    assert labels["com.docker.compose.container-number"] == "1"
    assert labels["com.docker.compose.oneoff"] == "False"
    assert len(labels["com.docker.compose.config-hash"]) == 64
    assert labels["com.docker.compose.project.working_dir"] == stack.dir
    assert labels["com.docker.compose.depends_on"].startswith("kv:service_healthy")
    net = stack.servin.json("network", "inspect", p + "_default")[0]
    assert net["Labels"]["com.docker.compose.project"] == p
    assert net["IPAM"]["Config"][0]["Subnet"] == stack.subnet
    vol = stack.servin.json("volume", "inspect", p + "_data")[0]
    assert vol["Labels"]["com.docker.compose.volume"] == "data"


def test_web_answers_and_reaches_the_others_by_name(stack):
    base = "http://127.0.0.1:%d" % stack.port
    assert "web of the stack" in wait_http(base + "/")
    assert http_get(base + "/cgi-bin/kv").strip() == "kv=one"
    assert http_get(base + "/cgi-bin/seed").strip() == "seeded"
    assert http_get(base + "/cgi-bin/env").strip() == "greeting=hello"
    assert stack.compose("port", "web", "80").stdout.strip() == "127.0.0.1:%d" % stack.port


def test_ps_logs_exec(stack):
    p = stack.project
    running = stack.compose("ps", "--format", "json").stdout.splitlines()
    rows = [json.loads(l) for l in running]
    assert sorted(r["Service"] for r in rows) == ["kv", "web", "worker"]
    web = [r for r in rows if r["Service"] == "web"][0]
    assert web["Name"] == "%s-web-1" % p and web["State"] == "running"
    assert web["Publishers"][0]["PublishedPort"] == stack.port
    every = stack.compose("ps", "-a").stdout
    assert "%s-job-1" % p in every and "Exited (0)" in every
    assert len(stack.compose("ps", "-q").stdout.split()) == 3
    assert stack.compose("ps", "--services").stdout.split() == ["job", "kv", "web", "worker"]
    logs = stack.compose("logs", "--no-color", "job", "kv").stdout
    assert "job-1  | job done" in logs
    assert "kv-1   | kv ready" in logs
    assert stack.compose("exec", "-T", "kv", "cat", "/www/key").stdout.strip() == "kv=one"
    # logs -f follows a running container until stopped; killing it ends its followers too.
    f = stack.servin.popen("--root", stack.servin.root, "compose", "-p", p, "logs", "-f", "--no-color", "worker",
                           root=False, cwd=stack.dir, text=True)
    first = f.stdout.readline()
    assert first == "worker-1  | worker up\n"
    children = subprocess.run(["pgrep", "-P", str(f.pid)], capture_output=True, text=True).stdout.split()
    assert len(children) == 1
    f.kill()
    f.wait()
    deadline = time.time() + 5
    while os.path.exists("/proc/%s" % children[0]) and time.time() < deadline:
        time.sleep(0.1)
    assert not os.path.exists("/proc/%s/status" % children[0]) or \
        "zombie" in open("/proc/%s/status" % children[0]).read()
    out = stack.compose("exec", "-T", "-e", "X=42", "-w", "/data", "kv", "sh", "-c", "echo $X; pwd; cat seed").stdout
    assert out.split() == ["42", "/data", "seeded"]
    r = stack.compose("exec", "-T", "kv", "sh", "-c", "exit 3", check=False)
    assert r.returncode == 3
    assert p in stack.servin.ok("compose", "ls").stdout


def test_lifecycle_verbs(stack):
    p = stack.project
    stack.compose("pause", "worker")
    assert stack.servin.json("inspect", "%s-worker-1" % p)[0]["State"]["Status"] == "paused"
    stack.compose("unpause", "worker")
    assert stack.servin.json("inspect", "%s-worker-1" % p)[0]["State"]["Status"] == "running"
    before = stack.servin.json("inspect", "%s-worker-1" % p)[0]
    stack.compose("restart", "-t", "2", "worker")
    after = stack.servin.json("inspect", "%s-worker-1" % p)[0]
    assert after["Id"] == before["Id"] and after["State"]["StartedAt"] > before["State"]["StartedAt"]
    assert after["State"]["Status"] == "running"
    stack.compose("kill", "-s", "KILL", "worker")
    # kill only sends the signal (as docker compose kill): the container ends just after.
    deadline = time.time() + 10
    while stack.servin.json("inspect", "%s-worker-1" % p)[0]["State"]["Status"] != "exited" \
            and time.time() < deadline:
        time.sleep(0.1)
    state = stack.servin.json("inspect", "%s-worker-1" % p)[0]["State"]
    assert state["Status"] == "exited" and state["ExitCode"] == 137
    stack.compose("start", "worker")
    assert stack.servin.json("inspect", "%s-worker-1" % p)[0]["State"]["Status"] == "running"
    top = stack.compose("top", "web").stdout
    assert "%s-web-1" % p in top and "httpd" in top
    images = stack.compose("images").stdout
    assert "%s-web-1" % p in images and "%s-web" % p in images and "localhost/bb" in images
    # rm leaves running containers alone, and removes the stopped one-shot.
    stack.compose("rm", "-f", "job")
    assert "%s-job-1" % p not in stack.ids()


def test_up_again_recreates_only_the_changed_service(stack):
    p = stack.project
    # The one-shot removed by test_lifecycle_verbs comes back; nothing else changes.
    r = stack.compose("up", "-d")
    before = stack.ids()
    assert "%s-job-1" % p in before
    r = stack.compose("up", "-d")
    assert stack.ids() == before, r.stderr  # nothing changed: nothing recreated
    stack.kv_value = "two"
    stack.write()
    stack.compose("up", "-d")
    after = stack.ids()
    assert after["%s-kv-1" % p] != before["%s-kv-1" % p]
    for svc in ("web", "worker"):
        assert after["%s-%s-1" % (p, svc)] == before["%s-%s-1" % (p, svc)], svc
    base = "http://127.0.0.1:%d" % stack.port
    deadline = time.time() + 20
    while True:
        try:
            body = http_get(base + "/cgi-bin/kv").strip()
        except OSError:
            body = ""
        if body == "kv=two" or time.time() > deadline:
            break
        time.sleep(0.3)
    assert body == "kv=two"


def test_scale_and_one_off_run(stack):
    p = stack.project
    stack.compose("up", "-d", "--scale", "worker=3")
    names = sorted(n for n in stack.ids() if "-worker-" in n)
    assert names == ["%s-worker-%d" % (p, i) for i in (1, 2, 3)]
    states = {r["Name"]: r["State"] for r in map(json.loads, stack.compose("ps", "--format", "json", "worker")
                                                  .stdout.splitlines())}
    assert set(states.values()) == {"running"} and len(states) == 3
    stack.compose("up", "-d", "--scale", "worker=1")
    assert sorted(n for n in stack.ids() if "-worker-" in n) == ["%s-worker-1" % p]
    r = stack.compose("run", "--rm", "-T", "--no-deps", "worker", "sh", "-c", "echo one-off $KV_VALUE; exit 0")
    assert r.stdout.strip() == "one-off"
    assert not [n for n in stack.ids() if "-run-" in n]
    stack.compose("stop", "worker")
    assert [r for r in map(json.loads, stack.compose("ps", "--format", "json").stdout.splitlines())
            if r["Service"] == "worker"] == []
    stack.compose("start", "worker")
    assert len(stack.compose("ps", "-q", "worker").stdout.split()) == 1


def test_down_removes_everything(stack):
    p = stack.project
    bridge = stack.servin.json("network", "inspect", p + "_default")[0]["Options"]["com.docker.network.bridge.name"]
    stack.compose("down", "-v", "-t", "2")
    assert stack.ids() == {}
    assert stack.servin("network", "inspect", p + "_default", check=False).returncode != 0
    assert stack.servin("volume", "inspect", p + "_data", check=False).returncode != 0
    assert p not in stack.servin.ok("compose", "ls", "-a").stdout
    root = stack.servin.root
    deadline = time.time() + 15
    def leftovers():
        mounts = mounts_under(root)
        netns_dir = os.path.join(root, "run", "netns")
        netns = os.listdir(netns_dir) if os.path.isdir(netns_dir) else []
        db = sqlite3.connect(os.path.join(root, "servin.db"))
        leases = db.execute("SELECT ip FROM network_leases").fetchall()
        volumes = db.execute("SELECT name FROM volumes").fetchall()
        db.close()
        links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
        rules = [l for l in subprocess.run(["iptables-save"], capture_output=True, text=True).stdout.splitlines()
                 if stack.prefix in l]
        return mounts, netns, leases, volumes, (" %s:" % bridge) in links, rules
    left = leftovers()
    while any(left) and time.time() < deadline:
        time.sleep(0.2)
        left = leftovers()
    assert not any(left), "left behind (mounts, netns, leases, volumes, bridge, rules): %r" % (left,)
    # The image built for web stays (down --rmi was not asked for).
    assert stack.servin("image", "inspect", "%s-web" % p, check=False).returncode == 0


def test_failed_dependency_and_foreground_abort(servin, tmp_path, busybox_rootfs_tar, cleanup_projects):
    servin.ok("import", "-c", 'CMD ["sh"]', busybox_rootfs_tar, IMAGE)
    proj = tmp_path / "bad"
    proj.mkdir()
    cleanup_projects += [("bad", str(proj)), ("fg", str(proj))]
    (proj / "compose.yaml").write_text("""
services:
  setup:
    image: localhost/bb:latest
    command: ["sh", "-c", "echo failing; exit 4"]
    network_mode: none
  app:
    image: localhost/bb:latest
    command: ["true"]
    network_mode: none
    depends_on:
      setup:
        condition: service_completed_successfully
""")
    r = servin.fail("compose", "-p", "bad", "up", "-d", cwd=str(proj))
    assert "setup" in r.stderr and "exited (4)" in r.stderr
    assert servin.lines("ps", "-aq", "--filter", "name=bad-app") == []
    servin.ok("compose", "-p", "bad", "down", cwd=str(proj))
    (proj / "compose.yaml").write_text("""
services:
  talk:
    image: localhost/bb:latest
    command: ["sh", "-c", "echo hello from talk; sleep 0.2; exit 3"]
    network_mode: none
  idle:
    image: localhost/bb:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
    network_mode: none
""")
    r = servin("compose", "-p", "fg", "up", "--no-color", "--abort-on-container-exit", cwd=str(proj), check=False,
               timeout=60)
    assert r.returncode == 3, r.stderr
    assert "talk-1  | hello from talk" in r.stdout
    assert "talk-1 exited with code 3" in r.stdout
    assert [l for l in servin.lines("ps", "-q")] == []
    servin.ok("compose", "-p", "fg", "down", cwd=str(proj))
    assert servin.lines("ps", "-aq") == []


@pytest.fixture
def cleanup_projects(servin):
    """Projects (name, dir) to take down after the test, whatever happened."""
    projects = []
    yield projects
    for name, cwd in projects:
        servin("compose", "-p", name, "down", "-v", "-t", "1", cwd=cwd, check=False)
    for cid in servin.lines("ps", "-aq", "--no-trunc", check=False):
        servin("rm", "-f", cid, check=False)


@pytest.fixture(scope="module")
def busybox_rootfs_tar(tmp_path_factory):
    path = tmp_path_factory.mktemp("bb-rootfs") / "rootfs.tar"
    subprocess.run([os.path.join(REPO, "scripts", "make-busybox-rootfs"), str(path)], check=True)
    return str(path)


def test_foreground_up_stops_the_stack_on_ctrl_c(servin, tmp_path, busybox_rootfs_tar, cleanup_projects):
    servin.ok("import", "-c", 'CMD ["sh"]', busybox_rootfs_tar, IMAGE)
    proj = tmp_path / "fg"
    proj.mkdir()
    cleanup_projects.append(("fgc", str(proj)))
    (proj / "compose.yaml").write_text("""
services:
  one:
    image: localhost/bb:latest
    command: ["sh", "-c", "trap 'echo one got TERM; exit 0' TERM; echo one up; while true; do sleep 1; done"]
    network_mode: none
  two:
    image: localhost/bb:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; echo two up; while true; do sleep 1; done"]
    network_mode: none
""")
    p = servin.popen("compose", "-p", "fgc", "up", "--no-color", cwd=str(proj), text=True)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(iter(p.stdout.readline, "")), daemon=True)
    reader.start()
    deadline = time.time() + 60
    while time.time() < deadline and not ("one-1  | one up\n" in lines and "two-1  | two up\n" in lines):
        time.sleep(0.1)
    if not ("one-1  | one up\n" in lines and "two-1  | two up\n" in lines):
        p.kill()
        p.wait()
    assert "one-1  | one up\n" in lines and "two-1  | two up\n" in lines, lines
    p.send_signal(2)
    err = p.stderr.read()
    p.wait(timeout=60)
    reader.join(timeout=10)
    out = "".join(lines)
    assert "Gracefully stopping" in err
    assert "one-1  | one got TERM" in out
    assert "one-1 exited with code 0" in out
    assert servin.lines("ps", "-q") == []
    assert len(servin.lines("ps", "-aq")) == 2
    servin.ok("compose", "-p", "fgc", "down", cwd=str(proj))
    assert servin.lines("ps", "-aq") == []


def test_configs_secrets_wait_orphans_and_rmi(servin, tmp_path, busybox_rootfs_tar, cleanup_projects):
    servin.ok("import", "-c", 'CMD ["sh"]', busybox_rootfs_tar, IMAGE)
    proj = tmp_path / "cs"
    cleanup_projects.append(("cs", str(proj)))
    (proj / "tool").mkdir(parents=True)
    (proj / "tool" / "Buildfile").write_text("FROM localhost/bb:latest\nRUN echo built > /built\n")
    (proj / "app.conf").write_text("setting=on\n")
    body = """
services:
  app:
    image: localhost/bb:latest
    init: true
    command: ["sh", "-c", "cat /etc/app.conf /run/secrets/token > /tmp/out; exec httpd -f -p 8080 -h /tmp"]
    volumes:
      - /cache
    configs:
      - source: appconf
        target: /etc/app.conf
    secrets: [token]
    healthcheck:
      test: ["CMD", "test", "-s", "/tmp/out"]
      interval: 1s
  side:
    image: localhost/bb:latest
    init: true
    network_mode: "service:app"
    command: ["sleep", "3600"]
  tool:
    build: ./tool
    init: true
    network_mode: none
    command: ["sleep", "3600"]
%s
configs:
  appconf:
    file: ./app.conf
secrets:
  token:
    environment: TOKEN
networks:
  default:
    ipam:
      config:
        - subnet: SUBNET
""".replace("SUBNET", unique_subnet()[0])
    extra = """  extra:
    image: localhost/bb:latest
    init: true
    network_mode: none
    command: ["sleep", "3600"]
"""
    (proj / "compose.yaml").write_text(body % extra)
    env = {"TOKEN": "s3cret"}
    r = servin.ok("compose", "-p", "cs", "up", "-d", "--wait", cwd=str(proj), env=env)
    app = servin.json("inspect", "cs-app-1")[0]
    assert app["State"]["Health"]["Status"] == "healthy", r.stderr
    assert os.path.isfile(os.path.join(servin.root, "compose", "cs", "secrets", "token"))
    out = servin.ok("compose", "-p", "cs", "exec", "-T", "app", "cat", "/tmp/out", cwd=str(proj), env=env).stdout
    assert out == "setting=on\ns3cret"
    r = servin("compose", "-p", "cs", "exec", "-T", "app", "sh", "-c", "echo x > /etc/app.conf", cwd=str(proj),
               env=env, check=False)
    assert r.returncode != 0  # configs are mounted read-only
    # side shares app's network namespace: app's server is on its loopback.
    assert servin.ok("compose", "-p", "cs", "exec", "-T", "side", "wget", "-q", "-O-", "http://127.0.0.1:8080/out",
                     cwd=str(proj), env=env).stdout == "setting=on\ns3cret"
    assert servin.ok("compose", "-p", "cs", "exec", "-T", "tool", "cat", "/built", cwd=str(proj),
                     env=env).stdout.strip() == "built"
    # extra leaves the file: a warning, then --remove-orphans removes it.
    (proj / "compose.yaml").write_text(body % "")
    r = servin.ok("compose", "-p", "cs", "up", "-d", cwd=str(proj), env=env)
    assert "orphan" in r.stderr and "cs-extra-1" in r.stderr
    app_id = servin.json("inspect", "cs-app-1")[0]["Id"]
    servin.ok("compose", "-p", "cs", "exec", "-T", "app", "sh", "-c", "echo kept > /cache/k", cwd=str(proj), env=env)
    servin.ok("compose", "-p", "cs", "up", "-d", "--remove-orphans", "--force-recreate", "app", cwd=str(proj), env=env)
    assert servin("inspect", "cs-extra-1", check=False).returncode != 0
    assert servin.json("inspect", "cs-app-1")[0]["Id"] != app_id
    # The recreated container took over the anonymous volume of the old one.
    assert servin.ok("compose", "-p", "cs", "exec", "-T", "app", "cat", "/cache/k", cwd=str(proj),
                     env=env).stdout == "kept\n"
    assert len(servin.lines("volume", "ls", "-q")) == 1
    servin.ok("compose", "-p", "cs", "down", "-v", "--rmi", "local", "-t", "1", cwd=str(proj), env=env)
    assert servin.lines("ps", "-aq") == []
    assert servin.lines("volume", "ls", "-q") == []
    assert not os.path.exists(os.path.join(servin.root, "compose", "cs"))  # the secret's content
    assert servin("image", "inspect", "cs-tool", check=False).returncode != 0
    assert servin("image", "inspect", IMAGE, check=False).returncode == 0


def test_pull_build_push_through_a_registry(servin, tmp_path, busybox_rootfs_tar, pushed, registry, cleanup_projects):
    servin.ok("import", "-c", 'CMD ["sh"]', busybox_rootfs_tar, IMAGE)
    proj = tmp_path / "reg"
    (proj / "made").mkdir(parents=True)
    cleanup_projects.append(("reg", str(proj)))
    (proj / "made" / "Buildfile").write_text("FROM localhost/bb:latest\nRUN echo made > /made\n")
    ref = pushed["busybox"].ref
    made = "%s/compose/made:1" % registry.host
    (proj / "compose.yaml").write_text("""
services:
  pulled:
    image: %s
    command: ["sh", "-c", "echo pulled ok"]
    network_mode: none
  made:
    build: ./made
    image: %s
    command: ["cat", "/made"]
    network_mode: none
""" % (ref, made))
    r = servin.ok("compose", "-p", "reg", "pull", cwd=str(proj))
    assert "Image %s  Pulled" % ref in r.stderr
    assert "made" in r.stderr  # cannot be pulled yet, but it can be built: a warning
    assert servin("image", "inspect", ref, check=False).returncode == 0
    servin.ok("compose", "-p", "reg", "build", cwd=str(proj))
    servin.ok("compose", "-p", "reg", "push", cwd=str(proj))
    status, _, body = registry.get("/v2/compose/made/tags/list")
    assert status == 200 and "1" in json.loads(body)["tags"]
    servin.ok("compose", "-p", "reg", "up", "-d", cwd=str(proj))
    deadline = time.time() + 20
    logs = ""
    while time.time() < deadline and not ("pulled-1  | pulled ok" in logs and "made-1    | made" in logs):
        logs = servin.ok("compose", "-p", "reg", "logs", "--no-color", cwd=str(proj)).stdout
        time.sleep(0.2)
    assert "pulled-1  | pulled ok" in logs and "made-1    | made" in logs
    servin.ok("compose", "-p", "reg", "down", "--rmi", "all", cwd=str(proj))
    assert servin("image", "inspect", ref, check=False).returncode != 0
    assert servin("image", "inspect", made, check=False).returncode != 0
    assert servin.lines("ps", "-aq") == []
