"""`servin build`: images from Buildfiles (Dockerfile syntax) built from small contexts.

The base image is busybox from scripts/make-busybox-rootfs, imported (no registry needed).  Every
test checks afterwards that nothing of its store is left mounted and no step container is left.
"""

import json
import os
import subprocess
import tarfile
import io
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="builds run containers, which need root")
BASE = "localhost/bb:latest"


@pytest.fixture(scope="session")
def busybox_rootfs(tmp_path_factory):
    path = tmp_path_factory.mktemp("bb-rootfs") / "rootfs.tar"
    subprocess.run([os.path.join(REPO, "scripts", "make-busybox-rootfs"), str(path)], check=True)
    return path


def mounts_under(root):
    with open("/proc/self/mountinfo") as f:
        return [l for l in f if root in l]


@pytest.fixture
def bb(servin, busybox_rootfs):
    servin.ok("import", str(busybox_rootfs), BASE)
    yield servin
    assert mounts_under(str(servin.root)) == []
    containers = os.path.join(str(servin.root), "containers")
    assert not os.path.isdir(containers) or os.listdir(containers) == []
    # No step's network namespace or container lock outlives it.
    netns = os.path.join(str(servin.root), "run", "netns")
    assert not os.path.isdir(netns) or os.listdir(netns) == []
    locks = os.path.join(str(servin.root), "locks")
    assert not os.path.isdir(locks) or [l for l in os.listdir(locks) if l.startswith("container-")] == []


def closed_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def context(tmp_path, buildfile, files=None, name="Buildfile"):
    ctx = tmp_path / ("ctx-%d" % time.monotonic_ns())
    ctx.mkdir()
    (ctx / name).write_text(buildfile)
    for rel, data in (files or {}).items():
        p = ctx / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            p.write_bytes(data)
        else:
            p.write_text(data)
    return ctx


def build(servin, ctx, *args, **kw):
    return servin.ok("build", *args, str(ctx), **kw)


def image_id(servin, ref):
    return servin.json("image", "inspect", ref)[0]["Id"]


def run_out(servin, image, *cmd):
    return servin.ok("run", "--rm", image, *cmd).stdout


def steps_cached(out):
    """For each STEP line, whether the step came from the cache."""
    result = []
    for line in out.splitlines():
        if line.startswith("STEP "):
            result.append(False)
        elif line.startswith("--> Using cache") and result:
            result[-1] = True
    return result


def test_multi_stage_final_image_holds_only_the_file_from_the_first_stage(bb, tmp_path):
    # --target names a stage; without it the last stage (a failing one) would be built.
    ctx2 = context(tmp_path, """
FROM localhost/bb AS builder
RUN mkdir /work && echo built-in-stage-one > /work/artifact && echo junk > /work/junk
FROM scratch AS final
COPY --from=builder /work/artifact /artifact
FROM localhost/bb AS unused
RUN exit 42
""")
    out = build(bb, ctx2, "-t", "ms:1", "--target", "final").stdout
    assert "exit 42" not in out
    cfg = bb.json("image", "inspect", "ms:1")[0]
    assert len(cfg["RootFS"]["Layers"]) == 1
    # Export the image's single layer and list it: the artifact and nothing else.
    tar_path = tmp_path / "ms.tar"
    bb.ok("save", "-o", str(tar_path), "ms:1")
    with tarfile.open(tar_path) as t:
        index = json.load(t.extractfile("index.json"))
        manifest = json.load(t.extractfile("blobs/sha256/" + index["manifests"][0]["digest"].split(":")[1]))
        layer = t.extractfile("blobs/sha256/" + manifest["layers"][0]["digest"].split(":")[1]).read()
    with tarfile.open(fileobj=io.BytesIO(layer)) as lt:
        names = [m.name for m in lt.getmembers()]
        assert names == ["artifact"]
        assert lt.extractfile("artifact").read() == b"built-in-stage-one\n"


def test_arg_and_env_scoping_known_answers(bb, tmp_path):
    ctx = context(tmp_path, r"""
ARG BASE=localhost/bb
ARG GLOBAL=global-default
ARG UNUSED_IN_STAGE=x
FROM ${BASE}
ARG GLOBAL
ARG WITH_DEFAULT=dflt
ARG OVERRIDDEN=dflt
ENV FROM_ENV=env-$WITH_DEFAULT SHADOW=env-wins
ARG SHADOW=arg-loses
ENV A=old
ENV A=new B=$A
RUN echo "global=$GLOBAL with_default=$WITH_DEFAULT overridden=$OVERRIDDEN from_env=$FROM_ENV shadow=$SHADOW b=$B unused=${UNUSED_IN_STAGE:-unset}" > /answers
LABEL answer="${WITH_DEFAULT:+set}-${NOPE:-fallback}"
""")
    build(bb, ctx, "-t", "args:1", "--build-arg", "OVERRIDDEN=from-cli")
    answers = run_out(bb, "args:1", "cat", "/answers").strip()
    assert answers == ("global=global-default with_default=dflt overridden=from-cli from_env=env-dflt "
                       "shadow=env-wins b=old unused=unset")
    cfg = bb.json("image", "inspect", "args:1")[0]["Config"]
    assert cfg["Labels"]["answer"] == "set-fallback"
    assert "A=new" in cfg["Env"] and "B=old" in cfg["Env"]
    # ARG values are for the build only, never in the image's environment.
    assert not any(e.startswith("OVERRIDDEN=") for e in cfg["Env"])


def test_unused_build_arg_is_a_warning(bb, tmp_path):
    ctx = context(tmp_path, "FROM localhost/bb\nRUN true\n")
    out = build(bb, ctx, "--build-arg", "NOBODY=1").stdout
    assert "[NOBODY]" in out


def test_dockerignore_keeps_a_file_out(bb, tmp_path):
    ctx = context(tmp_path, "FROM localhost/bb\nCOPY . /ctx/\n", {
        ".dockerignore": "secret.txt\n*.log\nsub/**\n!sub/keep.txt\n",
        "secret.txt": "do not ship",
        "app.log": "log",
        "main.txt": "main",
        "sub/drop.txt": "drop",
        "sub/keep.txt": "keep",
    })
    build(bb, ctx, "-t", "ign:1")
    listing = run_out(bb, "ign:1", "find", "/ctx", "-type", "f").split()
    assert sorted(listing) == ["/ctx/.dockerignore", "/ctx/Buildfile", "/ctx/main.txt", "/ctx/sub/keep.txt"]
    ctx2 = context(tmp_path, "FROM localhost/bb\nCOPY secret.txt /\n", {".dockerignore": "secret.txt\n",
                                                                         "secret.txt": "x"})
    r = bb.fail("build", str(ctx2))
    assert "secret.txt" in r.stderr and "Buildfile:2" in r.stderr


def test_copy_chown_chmod_and_directory_rules(bb, tmp_path):
    ctx = context(tmp_path, """
FROM localhost/bb
RUN echo 'app:x:1234:2345::/home/app:/bin/sh' >> /etc/passwd && echo 'appgrp:x:2345:' >> /etc/group
COPY --chown=app:appgrp f.txt /dst/
COPY --chown=42:43 --chmod=640 dir /d2
COPY dir/a.txt /renamed.txt
COPY *.md /docs/
""", {"f.txt": "f", "dir/a.txt": "a", "dir/sub/b.txt": "b", "one.md": "1", "two.md": "2"})
    build(bb, ctx, "-t", "own:1")
    out = run_out(bb, "own:1", "stat", "-c", "%n %u %g %a", "/dst/f.txt", "/d2/a.txt", "/d2/sub/b.txt",
                  "/renamed.txt", "/docs/one.md", "/docs/two.md").splitlines()
    assert out[0] == "/dst/f.txt 1234 2345 644"
    assert out[1] == "/d2/a.txt 42 43 640"
    assert out[2] == "/d2/sub/b.txt 42 43 640"
    assert out[3] == "/renamed.txt 0 0 644"
    assert out[4].startswith("/docs/one.md 0 0") and out[5].startswith("/docs/two.md 0 0")


def test_rebuild_without_change_hits_the_cache_for_every_step(bb, tmp_path):
    ctx = context(tmp_path, """
FROM localhost/bb
ENV X=1
RUN echo one > /one
COPY a.txt /a.txt
RUN cat /a.txt > /copy
LABEL l=v
CMD ["sh"]
""", {"a.txt": "A"})
    first = build(bb, ctx, "-t", "c:1")
    assert steps_cached(first.stdout) == [False] * 7
    second = build(bb, ctx, "-t", "c:2")
    assert steps_cached(second.stdout) == [False] + [True] * 6
    assert image_id(bb, "c:1") == image_id(bb, "c:2")
    # --no-cache runs every step again.
    third = build(bb, ctx, "--no-cache", "-t", "c:3")
    assert steps_cached(third.stdout) == [False] * 7


def test_prune_then_rebuild_misses_the_cache_for_collected_layers(bb, busybox_rootfs, tmp_path):
    x = context(tmp_path, "FROM localhost/bb\nRUN echo a > /a\nRUN echo b > /b\nENV E=1\n")
    y = context(tmp_path, "FROM localhost/bb\nRUN echo a > /a\nRUN echo c > /c\n")
    build(bb, x, "-t", "x:1")
    build(bb, y, "-t", "y:1")
    # x's own layer (/b) goes with x; the /a layer stays, y uses it.
    bb.ok("rmi", "x:1")
    again = build(bb, x, "-t", "x:2")
    assert steps_cached(again.stdout) == [False, True, False, False]
    assert run_out(bb, "x:2", "cat", "/a", "/b") == "a\nb\n"
    # Everything collected: every step runs again and the image is whole.
    bb.ok("image", "prune", "-a", "-f")
    assert bb.lines("images", "-q") == []
    layers = os.path.join(str(bb.root), "layers")
    assert not os.path.isdir(layers) or os.listdir(layers) == []
    bb.ok("import", str(busybox_rootfs), BASE)
    final = build(bb, y, "-t", "y:2")
    assert steps_cached(final.stdout) == [False, False, False]
    assert run_out(bb, "y:2", "cat", "/a", "/c") == "a\nc\n"


def test_touching_one_copied_file_reruns_exactly_the_steps_from_that_copy(bb, tmp_path):
    ctx = context(tmp_path, """
FROM localhost/bb
RUN echo before > /before
COPY one.txt /one.txt
RUN echo between > /between
COPY two.txt /two.txt
RUN cat /one.txt /two.txt > /both
""", {"one.txt": "1\n", "two.txt": "2\n"})
    build(bb, ctx, "-t", "t:1")
    # Same content, new mtime: still cached.
    os.utime(ctx / "two.txt", (1, 1))
    again = build(bb, ctx, "-t", "t:2")
    assert steps_cached(again.stdout) == [False] + [True] * 5
    (ctx / "two.txt").write_text("2 changed\n")
    changed = build(bb, ctx, "-t", "t:3")
    assert steps_cached(changed.stdout) == [False, True, True, True, False, False]
    assert run_out(bb, "t:3", "cat", "/both") == "1\n2 changed\n"


def test_progress_is_highlighted_on_a_terminal_and_plain_otherwise(bb, tmp_path):
    import pty
    import select
    ctx = context(tmp_path, "FROM localhost/bb\nRUN echo on-a-tty > /t\nENV E=1\n")
    plain = build(bb, ctx, "-t", "tty:1").stdout
    assert "\033[" not in plain
    assert plain.splitlines()[2] == "STEP 2/3 [0]: RUN echo on-a-tty > /t"
    assert plain.splitlines()[3].startswith("--> ") and plain.splitlines()[3].endswith("s")
    master, slave = pty.openpty()
    p = subprocess.Popen(bb.argv(["build", "-t", "tty:2", str(ctx)]), stdin=slave, stdout=slave, stderr=slave,
                         env=bb.env)
    os.close(slave)
    out = b""
    while True:
        r, _, _ = select.select([master], [], [], 60)
        if not r:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    assert p.wait(timeout=60) == 0
    os.close(master)
    text = out.decode()
    # Step number and instruction highlighted, and each step's cache hit shown.
    assert "\033[1;34mSTEP 2/3\033[0m" in text and "RUN echo on-a-tty > /t" in text
    assert text.count("Using cache") == 2


def test_failing_run_gives_its_exit_code_and_output_and_leaves_nothing(bb, tmp_path):
    ctx = context(tmp_path, "FROM localhost/bb\nRUN echo step-output-here; exit 7\nRUN echo never\n")
    r = bb("build", str(ctx), check=False)
    assert r.returncode == 7
    assert "step-output-here" in r.stdout
    assert "never" not in r.stdout
    assert "Buildfile:2:1: RUN" in r.stderr and "non-zero code: 7" in r.stderr
    # -q shows the failing step's output anyway.
    r = bb("build", "-q", str(ctx), check=False)
    assert r.returncode == 7 and "step-output-here" in r.stderr
    assert bb.lines("ps", "-a", "-q") == []


def test_quiet_iidfile_tags_labels_and_history(bb, tmp_path):
    ctx = context(tmp_path, "FROM localhost/bb\nRUN echo x > /x\nENV E=1\n")
    iid = tmp_path / "iid"
    r = bb.ok("build", "-q", "--iidfile", str(iid), "-t", "a:1", "-t", "b:2", "--label", "org.x=y", str(ctx))
    image = r.stdout.strip()
    assert image.startswith("sha256:") and len(image) == 71
    assert iid.read_text() == image
    info = bb.json("image", "inspect", "b:2")[0]
    assert info["Id"] == image and sorted(info["RepoTags"]) == ["a:1", "b:2"]
    assert info["Config"]["Labels"]["org.x"] == "y"
    with open(os.path.join(str(bb.root), "content", "blobs", "sha256", image.split(":")[1])) as f:
        blob = json.load(f)
    history = blob["history"]
    assert history[-2]["created_by"].startswith("RUN /bin/sh -c echo x > /x") and "empty_layer" not in history[-2]
    assert history[-1]["created_by"] == "ENV E=1" and history[-1]["empty_layer"] is True
    assert len(blob["rootfs"]["diff_ids"]) == 2


def test_source_date_epoch_gives_the_same_id_without_cache(bb, tmp_path):
    ctx = context(tmp_path, "FROM localhost/bb\nCOPY a /a\nENV X=1\nCMD [\"sh\"]\n", {"a": "a"})
    env = {"SOURCE_DATE_EPOCH": "1700000000"}
    one = bb.ok("build", "-q", "--no-cache", str(ctx), env=env).stdout.strip()
    two = bb.ok("build", "-q", "--no-cache", str(ctx), env=env).stdout.strip()
    assert one == two
    created = bb.json("image", "inspect", one)[0]["Created"]
    assert created.startswith("2023-11-14T22:13:20")


def test_heredocs_shell_json_forms_workdir_and_onbuild(bb, tmp_path):
    ctx = context(tmp_path, """# syntax=docker/dockerfile:1
FROM localhost/bb AS parent
WORKDIR /w
RUN <<EOF
echo from-heredoc > /w/h
echo line2 >> /w/h
EOF
COPY <<EOT /w/greeting
hello here-doc
EOT
RUN ["sh", "-c", "echo exec-form > /w/e"]
SHELL ["/bin/sh", "-c"]
ONBUILD RUN echo triggered > /w/t
ENTRYPOINT ["cat"]
CMD ["/w/h"]
""")
    build(bb, ctx, "-t", "hd:1")
    assert run_out(bb, "hd:1") == "from-heredoc\nline2\n"
    assert run_out(bb, "hd:1", "/w/greeting") == "hello here-doc\n"
    assert run_out(bb, "hd:1", "/w/e") == "exec-form\n"
    cfg = bb.json("image", "inspect", "hd:1")[0]["Config"]
    assert cfg["WorkingDir"] == "/w"
    child = context(tmp_path, "FROM hd:1\nRUN test -f /w/t\n")
    out = build(bb, child, "-t", "hd:2").stdout
    assert "ONBUILD" not in json.dumps(bb.json("image", "inspect", "hd:2")[0]["Config"].get("OnBuild") or [])


def test_heredoc_expansion_follows_the_delimiter_quoting(bb, tmp_path):
    ctx = context(tmp_path, r"""FROM localhost/bb
ARG V=argval
ENV E=envval
COPY <<EOF /c-unquoted
${V} $E \$V 'single' "double" ${MISSING:-dflt}
EOF
COPY <<'EOF' /c-quoted
${V} $E
EOF
COPY <<-"EOF" /c-dash
	${V}
	EOF
RUN cat <<EOF > /r-unquoted
$V $E
EOF
RUN cat <<'EOF' > /r-quoted
$V $E
EOF
""")
    build(bb, ctx, "-t", "hx:1")
    out = run_out(bb, "hx:1", "cat", "/c-unquoted", "/c-quoted", "/c-dash", "/r-unquoted", "/r-quoted")
    assert out.splitlines() == [
        "argval envval $V 'single' \"double\" dflt",
        "${V} $E",
        "${V}",
        "argval envval",
        "$V $E",
    ]
    # A changed ARG changes what an unquoted COPY here-document writes, never a stale cache hit.
    build(bb, ctx, "-t", "hx:2", "--build-arg", "V=other")
    assert run_out(bb, "hx:2", "cat", "/c-unquoted").startswith("other envval")


def test_platform_of_the_host_builds_and_another_is_refused(bb, tmp_path):
    import platform as pf
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(pf.machine(), pf.machine())
    other = "linux/s390x" if arch != "s390x" else "linux/amd64"
    ctx = context(tmp_path, "FROM --platform=$BUILDPLATFORM localhost/bb\nARG TARGETARCH\nRUN echo $TARGETARCH > /arch\n")
    build(bb, ctx, "-t", "pl:1", "--platform", "linux/" + arch)
    assert run_out(bb, "pl:1", "cat", "/arch") == arch + "\n"
    r = bb.fail("build", "--platform", other, str(ctx))
    assert other in r.stderr and "host" in r.stderr
    ctx2 = context(tmp_path, "FROM --platform=%s localhost/bb\nRUN true\n" % other)
    r = bb.fail("build", str(ctx2))
    assert "Buildfile:1:1" in r.stderr and other in r.stderr


def test_onbuild_triggers_run_in_the_child_build_only(bb, tmp_path):
    parent = context(tmp_path, "FROM localhost/bb\nONBUILD COPY marker /marker\nONBUILD RUN echo triggered > /t\n")
    build(bb, parent, "-t", "ob:parent")
    assert bb("run", "--rm", "ob:parent", "test", "-e", "/t", check=False).returncode != 0
    assert len(bb.json("image", "inspect", "ob:parent")[0]["Config"]["OnBuild"]) == 2
    child = context(tmp_path, "FROM ob:parent\nRUN cat /marker /t > /both\n", {"marker": "from-child-context\n"})
    build(bb, child, "-t", "ob:child")
    assert run_out(bb, "ob:child", "cat", "/both") == "from-child-context\ntriggered\n"
    # Triggers fire once: the child's own image does not carry them on.
    assert not bb.json("image", "inspect", "ob:child")[0]["Config"].get("OnBuild")


def test_config_instructions_reach_the_image_config(bb, tmp_path):
    ctx = context(tmp_path, """FROM localhost/bb
MAINTAINER someone@example.com
ARG PORT=8080
EXPOSE ${PORT} 53/udp
VOLUME ["/data", "/logs"]
VOLUME /cache
USER 1000:1000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=5s --timeout=3s --start-period=1s --retries=4 CMD wget -q -O- localhost:${PORT} || exit 1
ENTRYPOINT ["/bin/sh", "-c"]
LABEL a=1 "b c"="d e"
""")
    build(bb, ctx, "-t", "cfg:1")
    info = bb.json("image", "inspect", "cfg:1")[0]
    cfg = info["Config"]
    assert info["Author"] == "someone@example.com"
    assert sorted(cfg["ExposedPorts"]) == ["53/udp", "8080/tcp"]
    assert sorted(cfg["Volumes"]) == ["/cache", "/data", "/logs"]
    assert cfg["User"] == "1000:1000"
    assert cfg["StopSignal"] == "SIGTERM"
    hc = cfg["Healthcheck"]
    # Not expanded by the builder, as with Docker: the shell sees ${PORT} when the check runs.
    assert hc["Test"] == ["CMD-SHELL", "wget -q -O- localhost:${PORT} || exit 1"]
    assert hc["Interval"] == 5 * 10**9 and hc["Timeout"] == 3 * 10**9 and hc["Retries"] == 4
    assert hc["StartPeriod"] == 10**9
    assert cfg["Entrypoint"] == ["/bin/sh", "-c"]
    assert cfg["Labels"] == {"a": "1", "b c": "d e"}
    # HEALTHCHECK NONE turns an inherited check off.
    child = context(tmp_path, "FROM cfg:1\nHEALTHCHECK NONE\n")
    build(bb, child, "-t", "cfg:2")
    assert bb.json("image", "inspect", "cfg:2")[0]["Config"]["Healthcheck"]["Test"] == ["NONE"]


def test_pull_takes_a_newer_base_and_without_it_the_local_one_serves(bb, make_servin, busybox_rootfs,
                                                                    registry, tmp_path):
    ref = "%s/buildbase/bb:1" % registry.host
    bb.ok("import", "-c", "ENV V=one", str(busybox_rootfs), ref)
    bb.ok("push", ref)
    other = make_servin()
    other.ok("import", "-c", "ENV V=two", str(busybox_rootfs), ref)
    other.ok("push", ref)
    ctx = context(tmp_path, "FROM %s\nRUN echo $V > /v\n" % ref)
    build(bb, ctx, "-t", "pull:1")
    assert run_out(bb, "pull:1", "cat", "/v") == "one\n"
    build(bb, ctx, "-t", "pull:2", "--pull")
    assert run_out(bb, "pull:2", "cat", "/v") == "two\n"
    # A base that is nowhere is one clear error naming it.
    missing = context(tmp_path, "FROM %s/buildbase/nothing:1\n" % registry.host)
    r = bb.fail("build", str(missing))
    assert "Buildfile:1:1" in r.stderr and "buildbase/nothing" in r.stderr


def test_secret_is_mounted_only_for_the_step_that_asks(bb, tmp_path):
    secret = tmp_path / "token"
    secret.write_text("s3cr3t")
    ctx = context(tmp_path, """
FROM localhost/bb
RUN --mount=type=secret,id=tok cat /run/secrets/tok > /seen
RUN test ! -e /run/secrets/tok && echo absent > /later
""")
    build(bb, ctx, "-t", "sec:1", "--secret", "id=tok,src=%s" % secret)
    assert run_out(bb, "sec:1", "cat", "/seen") == "s3cr3t"
    assert run_out(bb, "sec:1", "cat", "/later") == "absent\n"
    listing = bb("run", "--rm", "sec:1", "ls", "-a", "/run/secrets", check=False)
    assert listing.returncode != 0 or "tok" not in listing.stdout


def test_network_none_host_and_bridge(bb, tmp_path):
    ctx = context(tmp_path, "FROM localhost/bb\nRUN ls /sys/class/net > /ifaces\n")
    build(bb, ctx, "-t", "n:1", "--network", "none")
    assert run_out(bb, "n:1", "cat", "/ifaces").split() == ["lo"]
    build(bb, ctx, "-t", "n:2", "--network", "host", "--no-cache")
    assert len(run_out(bb, "n:2", "cat", "/ifaces").split()) > 1
    # The default (bridge): the step is on the default network and reaches a server on the host
    # through the bridge's gateway; afterwards no lease, namespace or lock of it is left.
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"served-to-the-step\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("0.0.0.0", 0), Handler)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        ctx = context(tmp_path, """FROM localhost/bb
RUN ls /sys/class/net > /ifaces
RUN --network=bridge wget -q -O /got http://$(ip route | awk '/^default/ {print $3}'):%d/x
RUN --network=none ls /sys/class/net > /ifaces-none
""" % port)
        build(bb, ctx, "-t", "n:3")
    finally:
        server.shutdown()
    assert run_out(bb, "n:3", "cat", "/got") == "served-to-the-step\n"
    assert sorted(run_out(bb, "n:3", "cat", "/ifaces").split()) == ["eth0", "lo"]
    assert run_out(bb, "n:3", "cat", "/ifaces-none").split() == ["lo"]
    run_root = os.path.join(str(bb.root), "run")
    assert os.listdir(os.path.join(run_root, "netns")) == []
    assert [l for l in os.listdir(os.path.join(str(bb.root), "locks")) if l.startswith("container-")] == []
    inspect = bb.json("network", "inspect", "bridge")[0]
    assert inspect["Containers"] == {}


def test_add_extracts_local_tar_and_refuses_url_without_network(bb, tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        data = b"inside the archive\n"
        info = tarfile.TarInfo("pkg/file.txt")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    ctx = context(tmp_path, "FROM localhost/bb\nADD pkg.tar.gz /opt/\n", {"pkg.tar.gz": buf.getvalue()})
    build(bb, ctx, "-t", "add:1")
    assert run_out(bb, "add:1", "cat", "/opt/pkg/file.txt") == "inside the archive\n"
    # Nothing listens there: the download fails at once, as it does without a network.
    ctx2 = context(tmp_path, "FROM localhost/bb\nADD http://127.0.0.1:%d/file /f\n" % closed_port())
    r = bb.fail("build", str(ctx2))
    assert "Buildfile:2:1: ADD" in r.stderr and "network" in r.stderr


def test_run_mount_cache_is_refused(bb, tmp_path):
    ctx = context(tmp_path, "FROM localhost/bb\nRUN --mount=type=cache,target=/c true\n")
    r = bb.fail("build", str(ctx))
    assert "Buildfile:2:1" in r.stderr and "type=cache is not supported" in r.stderr


def test_file_flag_and_dockerfile_fallback(bb, tmp_path):
    ctx = context(tmp_path, "FROM localhost/bb\nLABEL which=dockerfile\n", name="Dockerfile")
    build(bb, ctx, "-t", "f:1")
    assert bb.json("image", "inspect", "f:1")[0]["Config"]["Labels"]["which"] == "dockerfile"
    (ctx / "Buildfile").write_text("FROM localhost/bb\nLABEL which=buildfile\n")
    build(bb, ctx, "-t", "f:2")
    assert bb.json("image", "inspect", "f:2")[0]["Config"]["Labels"]["which"] == "buildfile"
    other = tmp_path / "Other.build"
    other.write_text("FROM localhost/bb\nLABEL which=other\n")
    build(bb, ctx, "-f", str(other), "-t", "f:3")
    assert bb.json("image", "inspect", "f:3")[0]["Config"]["Labels"]["which"] == "other"


@pytest.mark.parametrize("text,where,what", [
    ("FROM localhost/bb\nFOO bar\n", "Buildfile:2:1", "unknown instruction"),
    ("FROM localhost/bb\nRUN <<EOF\necho never ends\n", "Buildfile:2:5", "unterminated here-document"),
    ("FROM localhost/bb\nCMD [\"sh\", ]\n", "Buildfile:2:", "invalid JSON form"),
    ("FROM localhost/bb\nCOPY ../outside /x\n", "Buildfile:2:1", "outside the build context"),
])
def test_bad_buildfiles_give_one_clear_error_with_a_line(bb, tmp_path, text, where, what):
    ctx = context(tmp_path, text)
    r = bb.fail("build", str(ctx), code=125)
    assert where in r.stderr and what in r.stderr


def test_tar_context_on_stdin(bb, tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in [("Dockerfile", b"FROM localhost/bb\nCOPY x /x\n"), ("x", b"from-tar\n")]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    bb.ok("build", "-t", "tar:1", "-", input=buf.getvalue())
    assert run_out(bb, "tar:1", "cat", "/x") == "from-tar\n"
