"""Build small OCI image layouts for the end-to-end tests and benchmarks (Python stdlib only).

Every builder writes an OCI image layout (``oci-layout``, ``index.json``, ``blobs/sha256/...``)
into a directory and returns an :class:`Image` (or :class:`MultiArch`) holding the values a
test can assert against:

* ``busybox_layout(dir, tag="latest")``  one gzip layer: busybox-static, its applet symlinks
  in /bin, /etc/passwd, /etc/group, /tmp, /root, /proc, /sys, /dev; config Cmd ["sh"], PATH.
* ``multilayer_layout(dir, tag="latest")``  three gzip layers exercising whiteouts (``.wh.x``),
  an opaque directory (``.wh..wh..opq``), a hard link and a symlink.  ``Image.expect_present`` /
  ``Image.expect_absent`` / ``Image.expect_content`` describe the final root filesystem.
* ``multiarch_layout(dir, tag="latest")``  an OCI image index with linux/amd64 and linux/arm64
  manifests whose configs differ (label ``servin.test.arch``).  Returns :class:`MultiArch`.
* ``zstd_layout(dir, tag="latest")``  two layers of media type ``...tar+zstd`` (needs `zstd`).
* ``big_layout(dir, total_mb, layers=5, tag="latest")``  half-random data, for the benchmarks.

``push_layout(layout_dir, dest_ref, creds=None, tag="latest", multi=False, fmt=None)`` copies a layout to a
registry with skopeo, keeping the digests, so the expected values above stay true in the registry.

``rootfs_problems(dir, image)`` lists how an unpacked root filesystem differs from the expectations;
``merged_view(layer_dirs, workdir)`` mounts layer directories as one read-only overlayfs view.

All tar members are owned by 0:0 with a fixed mtime, so the same call always gives the same digests.
"""

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile

MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
MT_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MT_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"

FIXED_MTIME = 1700000000  # 2023-11-14T22:13:20Z
CREATED = "2023-11-14T22:13:20Z"
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
BUSYBOX_BIN = "/bin/busybox"

PASSWD = (
    "root:x:0:0:root:/root:/bin/sh\n"
    "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
)
GROUP = "root:x:0:\ndaemon:x:1:\nnogroup:x:65534:\n"


def sha256_digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------- tar layers


class Tar:
    """A deterministic tar stream built in memory."""

    def __init__(self):
        self.buf = io.BytesIO()
        self.tar = tarfile.open(fileobj=self.buf, mode="w", format=tarfile.PAX_FORMAT)

    def _info(self, name, kind, mode):
        ti = tarfile.TarInfo(name)
        ti.type = kind
        ti.mode = mode
        ti.mtime = FIXED_MTIME
        ti.uid = ti.gid = 0
        ti.uname = ti.gname = "root"
        return ti

    def dir(self, name, mode=0o755):
        self.tar.addfile(self._info(name.rstrip("/") + "/", tarfile.DIRTYPE, mode))
        return self

    def file(self, name, data, mode=0o644, uid=0, gid=0):
        if isinstance(data, str):
            data = data.encode()
        ti = self._info(name, tarfile.REGTYPE, mode)
        ti.uid, ti.gid = uid, gid
        ti.size = len(data)
        self.tar.addfile(ti, io.BytesIO(data))
        return self

    def symlink(self, name, target):
        ti = self._info(name, tarfile.SYMTYPE, 0o777)
        ti.linkname = target
        self.tar.addfile(ti)
        return self

    def hardlink(self, name, target):
        ti = self._info(name, tarfile.LNKTYPE, 0o644)
        ti.linkname = target
        self.tar.addfile(ti)
        return self

    def whiteout(self, path):
        """Delete `path` (from a lower layer) with an OCI whiteout file."""
        d, base = os.path.split(path.rstrip("/"))
        return self.file(os.path.join(d, ".wh." + base), b"", 0o600)

    def opaque(self, dirpath):
        """Hide everything the lower layers had in `dirpath`."""
        return self.file(os.path.join(dirpath.rstrip("/"), ".wh..wh..opq"), b"", 0o600)

    def bytes(self):
        self.tar.close()
        return self.buf.getvalue()


def gzip_bytes(data, level=6):
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, filename="", compresslevel=level) as gz:
        gz.write(data)
    return out.getvalue()


def zstd_bytes(data):
    return subprocess.run(["zstd", "-q", "-c", "-3"], input=data, stdout=subprocess.PIPE, check=True).stdout


# ---------------------------------------------------------------- layouts


class Image:
    """Expected values of one image manifest written into a layout."""

    def __init__(self, **kw):
        self.layout = None  # directory of the OCI layout
        self.tag = "latest"
        self.manifest = None  # bytes of the manifest
        self.manifest_digest = None
        self.manifest_media_type = MT_MANIFEST
        self.config = None  # bytes of the config
        self.config_json = None
        self.config_digest = None  # == the image id
        self.diff_ids = []
        self.layer_digests = []
        self.layer_media_types = []
        self.layer_sizes = []
        self.layer_blobs = []  # compressed bytes, in order
        self.expect_present = []  # paths that exist in the unpacked root filesystem
        self.expect_absent = []  # paths that must not exist
        self.expect_content = {}  # path -> bytes
        self.expect_symlinks = {}  # path -> link target
        self.expect_hardlinks = []  # (path, path) pairs sharing an inode
        self.__dict__.update(kw)

    @property
    def image_id(self):
        return self.config_digest

    @property
    def size(self):
        """Sum of the compressed layer sizes plus the config size."""
        return sum(self.layer_sizes) + len(self.config)

    def __repr__(self):
        return "Image(%s, %s)" % (self.layout, self.manifest_digest)


class MultiArch:
    """Expected values of an image index: .index_digest and one Image per "os/arch"."""

    def __init__(self, layout, tag, index, index_digest, images):
        self.layout = layout
        self.tag = tag
        self.index = index
        self.index_digest = index_digest
        self.manifest_digest = index_digest
        self.images = images  # {"linux/amd64": Image, "linux/arm64": Image}

    def __repr__(self):
        return "MultiArch(%s, %s)" % (self.layout, self.index_digest)


class Layout:
    """Writes blobs into an OCI layout directory and keeps index.json up to date."""

    def __init__(self, path):
        self.path = str(path)
        os.makedirs(os.path.join(self.path, "blobs", "sha256"), exist_ok=True)
        with open(os.path.join(self.path, "oci-layout"), "w") as f:
            json.dump({"imageLayoutVersion": "1.0.0"}, f)
        self.index_path = os.path.join(self.path, "index.json")
        if os.path.exists(self.index_path):
            with open(self.index_path) as f:
                self.index = json.load(f)
        else:
            self.index = {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": []}

    def blob(self, data):
        digest = sha256_digest(data)
        p = os.path.join(self.path, "blobs", "sha256", digest.split(":", 1)[1])
        if not os.path.exists(p):
            with open(p, "wb") as f:
                f.write(data)
        return digest

    def tag(self, tag, media_type, digest, size):
        entries = [m for m in self.index["manifests"]
                   if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != tag]
        entries.append({"mediaType": media_type, "digest": digest, "size": size,
                        "annotations": {"org.opencontainers.image.ref.name": tag}})
        self.index["manifests"] = entries
        with open(self.index_path, "w") as f:
            json.dump(self.index, f, indent=2)


def canonical(obj):
    return json.dumps(obj, separators=(",", ":"), sort_keys=False).encode()


def write_image(layout, layers, config_extra=None, tag="latest", arch="amd64", os_name="linux",
                history=None, tag_it=True, variant=None):
    """Write layers (list of (uncompressed tar bytes, media type)) + config + manifest.

    Returns an Image.  When tag_it is false the manifest is not named in index.json (used by the
    multi-arch builder, which tags the index instead).
    """
    if not isinstance(layout, Layout):
        layout = Layout(layout)
    diff_ids, descs, blobs = [], [], []
    for raw, mt in layers:
        diff_ids.append(sha256_digest(raw))
        if mt == MT_LAYER_GZIP:
            blob = gzip_bytes(raw)
        elif mt == MT_LAYER_ZSTD:
            blob = zstd_bytes(raw)
        else:
            blob = raw
        blobs.append(blob)
        descs.append({"mediaType": mt, "digest": layout.blob(blob), "size": len(blob)})
    if history is None:
        history = [{"created": CREATED, "created_by": "servin-tests layer %d" % i} for i in range(len(layers))]
    config = {
        "created": CREATED,
        "architecture": arch,
        "os": os_name,
        "config": {"Env": [PATH_ENV], "Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }
    if variant:
        config["variant"] = variant
    for k, v in (config_extra or {}).items():
        if k == "config":
            config["config"].update(v)
        else:
            config[k] = v
    config_bytes = canonical(config)
    config_digest = layout.blob(config_bytes)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MT_MANIFEST,
        "config": {"mediaType": MT_CONFIG, "digest": config_digest, "size": len(config_bytes)},
        "layers": descs,
    }
    manifest_bytes = canonical(manifest)
    manifest_digest = layout.blob(manifest_bytes)
    if tag_it:
        layout.tag(tag, MT_MANIFEST, manifest_digest, len(manifest_bytes))
    return Image(layout=layout.path, tag=tag, manifest=manifest_bytes, manifest_digest=manifest_digest,
                 config=config_bytes, config_json=config, config_digest=config_digest, diff_ids=diff_ids,
                 layer_digests=[d["digest"] for d in descs], layer_media_types=[d["mediaType"] for d in descs],
                 layer_sizes=[d["size"] for d in descs], layer_blobs=blobs)


def busybox_applets(busybox=BUSYBOX_BIN):
    out = subprocess.run([busybox, "--list"], stdout=subprocess.PIPE, check=True, text=True).stdout
    return sorted({a.strip() for a in out.split() if a.strip() and a.strip() != "busybox"})


def busybox_tar(busybox=BUSYBOX_BIN):
    """Uncompressed tar of a minimal busybox root filesystem."""
    with open(busybox, "rb") as f:
        binary = f.read()
    t = Tar()
    for d in ("bin", "dev", "etc", "proc", "root", "sys", "usr", "usr/bin", "var"):
        t.dir(d, 0o700 if d == "root" else 0o755)
    t.dir("tmp", 0o1777)
    t.file("bin/busybox", binary, 0o755)
    for applet in busybox_applets(busybox):
        t.symlink("bin/" + applet, "busybox")
    t.file("etc/passwd", PASSWD)
    t.file("etc/group", GROUP)
    t.file("etc/hostname", "servin\n")
    return t.bytes()


def busybox_layout(path, tag="latest"):
    img = write_image(path, [(busybox_tar(), MT_LAYER_GZIP)], tag=tag,
                      history=[{"created": CREATED, "created_by": "/bin/sh -c #(nop) ADD busybox rootfs"},
                               {"created": CREATED, "created_by": '/bin/sh -c #(nop)  CMD ["sh"]',
                                "empty_layer": True}])
    img.expect_present = ["bin/busybox", "bin/sh", "etc/passwd", "tmp", "root", "proc"]
    img.expect_symlinks = {"bin/sh": "busybox"}
    img.expect_content = {"etc/passwd": PASSWD.encode()}
    return img


def multilayer_layout(path, tag="latest"):
    base = (Tar()
            .dir("etc").file("etc/hello.txt", "hello from layer 1\n").file("etc/os-release", "ID=servin-test\n")
            .dir("data").file("data/keep.txt", "keep\n").file("data/remove-me.txt", "doomed\n")
            .dir("opaque").file("opaque/old1.txt", "old 1\n").dir("opaque/sub").file("opaque/sub/old2.txt", "old 2\n")
            .dir("gone").file("gone/inner.txt", "inner\n")
            .file("setuid-file", "x", mode=0o4755)
            .file("owned-by-1000", "mine\n", uid=1000, gid=1000)
            .bytes())
    second = (Tar()
              .dir("data").whiteout("data/remove-me.txt")
              .whiteout("gone")
              .dir("opaque").opaque("opaque").file("opaque/new.txt", "new in layer 2\n")
              .dir("links").file("links/original.txt", "linked content\n")
              .hardlink("links/hardlink.txt", "links/original.txt")
              .symlink("links/symlink.txt", "original.txt")
              .symlink("links/abs-symlink", "/etc/hello.txt")
              .bytes())
    third = (Tar()
             .file("layer3.txt", "added by layer 3\n")
             .dir("etc").file("etc/hello.txt", "hello from layer 3\n")
             .bytes())
    img = write_image(path, [(base, MT_LAYER_GZIP), (second, MT_LAYER_GZIP), (third, MT_LAYER_GZIP)], tag=tag,
                      config_extra={"config": {"Labels": {"servin.test": "multilayer"}, "WorkingDir": "/data"}})
    img.expect_present = ["etc/hello.txt", "data/keep.txt", "opaque/new.txt", "links/original.txt",
                          "links/hardlink.txt", "links/symlink.txt", "layer3.txt", "setuid-file"]
    img.expect_absent = ["data/remove-me.txt", "gone", "gone/inner.txt", "opaque/old1.txt", "opaque/sub",
                         "data/.wh.remove-me.txt", ".wh.gone", "opaque/.wh..wh..opq"]
    img.expect_content = {"etc/hello.txt": b"hello from layer 3\n", "opaque/new.txt": b"new in layer 2\n",
                          "links/hardlink.txt": b"linked content\n", "layer3.txt": b"added by layer 3\n",
                          "data/keep.txt": b"keep\n"}
    img.expect_symlinks = {"links/symlink.txt": "original.txt", "links/abs-symlink": "/etc/hello.txt"}
    img.expect_hardlinks = [("links/original.txt", "links/hardlink.txt")]
    return img


def multiarch_layout(path, tag="latest"):
    layout = Layout(path)
    images, entries = {}, []
    for arch in ("amd64", "arm64"):
        layer = Tar().dir("etc").file("etc/arch", arch + "\n").bytes()
        img = write_image(layout, [(layer, MT_LAYER_GZIP)], arch=arch, tag_it=False,
                          config_extra={"config": {"Labels": {"servin.test.arch": arch}}})
        img.tag = tag
        img.expect_content = {"etc/arch": (arch + "\n").encode()}
        images["linux/" + arch] = img
        entries.append({"mediaType": MT_MANIFEST, "digest": img.manifest_digest, "size": len(img.manifest),
                        "platform": {"architecture": arch, "os": "linux"}})
    index = {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": entries}
    index_bytes = canonical(index)
    index_digest = layout.blob(index_bytes)
    layout.tag(tag, MT_INDEX, index_digest, len(index_bytes))
    return MultiArch(layout.path, tag, index_bytes, index_digest, images)


def zstd_layout(path, tag="latest"):
    one = Tar().dir("etc").file("etc/zstd.txt", "compressed with zstd\n").bytes()
    two = Tar().dir("data").file("data/blob.bin", bytes(range(256)) * 64).bytes()
    img = write_image(path, [(one, MT_LAYER_ZSTD), (two, MT_LAYER_ZSTD)], tag=tag,
                      config_extra={"config": {"Labels": {"servin.test": "zstd"}}})
    img.expect_content = {"etc/zstd.txt": b"compressed with zstd\n", "data/blob.bin": bytes(range(256)) * 64}
    return img


def big_layout(path, total_mb, layers=5, tag="latest", seed=1):
    """Several gzip layers totalling about total_mb MB of uncompressed data, half of it random."""
    import random
    rng = random.Random(seed)
    per_layer = max(1, int(total_mb * 1024 * 1024 / layers))
    chunk = 1024 * 1024
    tars = []
    for i in range(layers):
        t = Tar().dir("big%d" % i)
        done, n = 0, 0
        while done < per_layer:
            size = min(chunk, per_layer - done)
            half = size // 2
            text = ("layer %d file %d line of fairly compressible text\n" % (i, n)).encode()
            data = rng.randbytes(half) + (text * (size // len(text) + 1))[: size - half]
            t.file("big%d/file%04d.bin" % (i, n), data)
            done += size
            n += 1
        tars.append((t.bytes(), MT_LAYER_GZIP))
    # Compress fast: the benchmark measures pulling, not this.
    layout = Layout(path)
    diff_ids, descs = [], []
    for raw, mt in tars:
        diff_ids.append(sha256_digest(raw))
        blob = gzip_bytes(raw, level=1)
        descs.append({"mediaType": mt, "digest": layout.blob(blob), "size": len(blob)})
    config = {"created": CREATED, "architecture": "amd64", "os": "linux",
              "config": {"Env": [PATH_ENV], "Cmd": ["sh"]},
              "rootfs": {"type": "layers", "diff_ids": diff_ids},
              "history": [{"created": CREATED, "created_by": "big layer %d" % i} for i in range(len(tars))]}
    config_bytes = canonical(config)
    manifest = {"schemaVersion": 2, "mediaType": MT_MANIFEST,
                "config": {"mediaType": MT_CONFIG, "digest": layout.blob(config_bytes), "size": len(config_bytes)},
                "layers": descs}
    manifest_bytes = canonical(manifest)
    md = layout.blob(manifest_bytes)
    layout.tag(tag, MT_MANIFEST, md, len(manifest_bytes))
    img = Image(layout=layout.path, tag=tag, manifest=manifest_bytes, manifest_digest=md, config=config_bytes,
                config_json=config, config_digest=sha256_digest(config_bytes), diff_ids=diff_ids,
                layer_digests=[d["digest"] for d in descs], layer_media_types=[d["mediaType"] for d in descs],
                layer_sizes=[d["size"] for d in descs], layer_blobs=[])
    return img


# ---------------------------------------------------------------- pushing


def push_layout(layout_dir, dest_ref, creds=None, tag="latest", multi=False, timeout=600, fmt=None):
    """skopeo copy oci:<layout_dir>:<tag> docker://<dest_ref>, keeping manifest digests.

    `multi` copies a whole image index (--all).  `fmt="v2s2"` converts to Docker's schema 2
    manifest instead (the manifest digest then changes; the config digest and diff_ids do not).
    Raises CalledProcessError with skopeo's output.
    """
    layout_dir = str(getattr(layout_dir, "layout", layout_dir))
    cmd = ["skopeo", "copy", "--quiet", "--dest-tls-verify=false"]
    cmd += ["--format", fmt] if fmt else ["--preserve-digests"]
    if multi:
        cmd.append("--all")
    if creds:
        cmd += ["--dest-creds", "%s:%s" % tuple(creds)]
    cmd += ["oci:%s:%s" % (layout_dir, tag), "docker://" + dest_ref]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout,
                       env=dict(os.environ, REGISTRY_AUTH_FILE="/nonexistent/servin-tests-auth.json"))
    if r.returncode != 0:
        raise subprocess.CalledProcessError(r.returncode, cmd, r.stdout, r.stderr)
    return r


def have_zstd():
    return shutil.which("zstd") is not None


# ---------------------------------------------------------------- checking an unpacked image


def rootfs_problems(root, image):
    """Compare an unpacked root filesystem (a directory) with image.expect_*; [] when it matches.

    Usable on one layer directory only when the image has one layer; for several layers pass the
    merged view (e.g. the layers applied in order into one directory).
    """
    root = str(root)
    problems = []

    def p(rel):
        return os.path.join(root, rel)
    for rel in image.expect_present:
        if not os.path.lexists(p(rel)):
            problems.append("missing %s" % rel)
    for rel in image.expect_absent:
        if os.path.lexists(p(rel)):
            problems.append("should not exist: %s" % rel)
    for rel, data in image.expect_content.items():
        try:
            with open(p(rel), "rb") as f:
                got = f.read()
        except OSError as e:
            problems.append("cannot read %s: %s" % (rel, e))
            continue
        if got != data:
            problems.append("content of %s differs: %r" % (rel, got[:80]))
    for rel, target in image.expect_symlinks.items():
        if not os.path.islink(p(rel)):
            problems.append("not a symlink: %s" % rel)
        elif os.readlink(p(rel)) != target:
            problems.append("symlink %s -> %s, expected %s" % (rel, os.readlink(p(rel)), target))
    for a, b in image.expect_hardlinks:
        try:
            sa, sb = os.lstat(p(a)), os.lstat(p(b))
            if (sa.st_dev, sa.st_ino) != (sb.st_dev, sb.st_ino):
                problems.append("%s and %s are not hard linked" % (a, b))
        except OSError as e:
            problems.append("hard link check %s/%s: %s" % (a, b, e))
    return problems


class merged_view:
    """Context manager: a read-only overlayfs view of layer directories (lowest first), as a
    container would see them; whiteouts and opaque directories take effect.  Needs root.

        with imagebuild.merged_view([diff1, diff2, diff3], tmpdir) as root:
            assert imagebuild.rootfs_problems(root, image) == []
    """

    def __init__(self, layer_dirs, workdir):
        self.layers = [str(d) for d in layer_dirs]
        self.target = os.path.join(str(workdir), "merged-%d" % id(self))
        self.mounted = False

    def __enter__(self):
        if len(self.layers) == 1:
            return self.layers[0]
        os.makedirs(self.target, exist_ok=True)
        # overlayfs lists lowerdirs top first.
        opts = "lowerdir=" + ":".join(reversed(self.layers))
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o", opts, self.target], check=True)
        self.mounted = True
        return self.target

    def __exit__(self, *exc):
        if self.mounted:
            subprocess.run(["umount", self.target], check=False)
            self.mounted = False
        return False
