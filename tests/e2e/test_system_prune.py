"""`servin system prune`: stopped containers, unused networks, dangling images (all unused ones
with -a), the build cache, and with --volumes unused volumes; --filter until=/label=; asks unless
-f. (What it releases for containers that no longer run is tested in test_networks.py.)"""

import os
import random
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IMAGE = "localhost/bb:latest"
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")


@pytest.fixture(scope="module")
def busybox_rootfs(tmp_path_factory):
    path = tmp_path_factory.mktemp("bb-rootfs") / "rootfs.tar"
    subprocess.run([os.path.join(REPO, "scripts", "make-busybox-rootfs"), str(path)], check=True)
    return path


def subnet():
    return "10.%d.%d.0/24" % (random.randint(200, 250), random.randint(0, 255))


def test_system_prune(servin, busybox_rootfs, tmp_path):
    s = servin
    s.ok("import", "-c", 'CMD ["sh"]', str(busybox_rootfs), IMAGE)
    # A dangling image: the tag moves to a second import.
    old = s.ok("import", "-m", "first", str(busybox_rootfs), "localhost/moving:1").stdout.strip()
    s.ok("import", "-c", "ENV X=1", str(busybox_rootfs), "localhost/moving:1")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Buildfile").write_text("FROM %s\nRUN echo built > /built\n" % IMAGE)
    s.ok("build", "-t", "localhost/built:1", str(ctx))
    cache = os.listdir(os.path.join(s.root, "build-cache"))
    assert cache
    stopped = s.ok("create", "--label", "keep=yes", IMAGE, "true").stdout.strip()
    stopped2 = s.ok("create", IMAGE, "true").stdout.strip()
    running = s.ok("run", "-d", "--network", "none", IMAGE, "sleep", "60").stdout.strip()
    try:
        check_prune(s, stopped, stopped2, running, old, cache)
    finally:
        for cid in s.lines("ps", "-aq", "--no-trunc", check=False):
            s("rm", "-f", cid, check=False)
        s("network", "rm", "prn-%d" % os.getpid(), check=False)


def check_prune(s, stopped, stopped2, running, old, cache):
    net = "prn-%d" % os.getpid()
    s.ok("network", "create", "--subnet", subnet(), net)
    s.ok("volume", "create", "prunevol")

    # No -f and no "y": nothing goes.
    r = s("system", "prune", input="n\n")
    assert r.returncode == 0 and "WARNING! This will remove:" in r.stderr
    assert "Deleted" not in r.stdout
    assert len(s.lines("ps", "-aq")) == 3

    r = s.fail("system", "prune", "-f", "--filter", "colour=red")
    assert "invalid filter" in r.stderr
    r = s.fail("system", "prune", "-f", "--volumes", "--filter", "until=1h")
    assert "until" in r.stderr
    # label= with a label nothing has, and until= in the past, select nothing.
    r = s.ok("system", "prune", "-f", "--filter", "label=nothing-has-it")
    assert "Deleted" not in r.stdout and os.listdir(os.path.join(s.root, "build-cache"))
    r = s.ok("system", "prune", "-f", "--filter", "until=2000-01-01T00:00:00Z")
    assert "Deleted" not in r.stdout and len(s.lines("ps", "-aq")) == 3
    # label!= keeps the labelled container.
    r = s.ok("system", "prune", "-f", "--filter", "label!=keep=yes")
    assert stopped2 in r.stdout and stopped not in r.stdout
    assert "Deleted Networks:\n%s\n" % net in r.stdout
    assert "Deleted Images:" in r.stdout and old in r.stdout
    # Cache entries have no labels: label!= selects them.
    assert "Deleted build cache objects:" in r.stdout and cache[0][:-5] in r.stdout
    assert os.listdir(os.path.join(s.root, "build-cache")) == []
    assert s.lines("ps", "-aq", "--no-trunc") and stopped in s.ok("ps", "-aq", "--no-trunc").stdout

    r = s.ok("system", "prune", "-f")
    assert "Deleted Containers:\n%s\n" % stopped in r.stdout
    assert "Deleted Volumes" not in r.stdout and r.stdout.rstrip().splitlines()[-1].startswith(
        "Total reclaimed space: ")
    assert s.ok("ps", "-aq", "--no-trunc").stdout.split() == [running]
    # Tagged images stay without -a; the network of nobody and the volume too.
    assert "localhost/built" in s.ok("images").stdout
    assert "prunevol" in s.ok("volume", "ls", "-q").stdout

    r = s.ok("system", "prune", "-f", "-a", "--volumes")
    assert "Deleted Volumes:\nprunevol\n" in r.stdout
    assert "localhost/built" not in s.ok("images").stdout
    # The image of the running container stays.
    assert IMAGE.split(":")[0] in s.ok("images").stdout
    s.ok("rm", "-f", running)
