"""The four inspect commands (container, image, network, volume) print alike, as Docker's do:
the JSON array (no --format, or --format json), even an empty one when nothing was found; a
template rendered once per object, one line each; a missing name is one error line and exit 1
after the objects that were found."""

import json
import os
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


def test_inspect_commands_print_alike(servin, busybox_rootfs):
    s = servin
    s.ok("import", "-c", 'CMD ["sh"]', str(busybox_rootfs), IMAGE)
    s.ok("tag", IMAGE, "localhost/bb:two")
    s.ok("create", "--name", "c1", "--network", "none", IMAGE, "true")
    s.ok("create", "--name", "c2", "--network", "none", IMAGE, "true")
    pid = os.getpid()
    s.ok("network", "create", "--subnet", "10.251.%d.0/24" % (pid % 250), "insp-a-%d" % pid)
    s.ok("network", "create", "--subnet", "10.252.%d.0/24" % (pid % 250), "insp-b-%d" % pid)
    s.ok("volume", "create", "va")
    s.ok("volume", "create", "vb")
    kinds = {
        "container": (["c1", "c2"], "{{.Name}}", ["/c1", "/c2"]),
        "image": ([IMAGE, "localhost/bb:two"], "{{.Os}}", ["linux", "linux"]),
        "network": (["insp-a-%d" % pid, "insp-b-%d" % pid], "{{.Name}}", ["insp-a-%d" % pid, "insp-b-%d" % pid]),
        "volume": (["va", "vb"], "{{.Name}}", ["va", "vb"]),
    }
    try:
        for kind, (names, tmpl, want) in kinds.items():
            r = s.ok(kind, "inspect", "-f", tmpl, *names)
            assert r.stdout == "".join(w + "\n" for w in want), (kind, r.stdout)
            arr = json.loads(s.ok(kind, "inspect", *names).stdout)
            assert len(arr) == 2, kind
            assert json.loads(s.ok(kind, "inspect", "--format", "json", *names).stdout) == arr, kind
            # Found ones first, then the missing one's error, exit 1.
            r = s.fail(kind, "inspect", names[0], "no-such-%s" % kind, code=1)
            assert len(json.loads(r.stdout)) == 1 and "no-such-%s" % kind in r.stderr, kind
            r = s.fail(kind, "inspect", "-f", tmpl, "no-such-%s" % kind, names[1], code=1)
            assert r.stdout == want[1] + "\n", kind
            # Nothing found: still the (empty) array.
            r = s.fail(kind, "inspect", "no-such-%s" % kind, code=1)
            assert json.loads(r.stdout) == [], kind
            # A template that does not parse is one error line.
            s.fail(kind, "inspect", "-f", "{{.Name", names[0])
    finally:
        s("rm", "-f", "c1", "c2", check=False)
        s("network", "rm", "insp-a-%d" % pid, "insp-b-%d" % pid, check=False)
