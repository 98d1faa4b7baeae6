"""Start-up of the full `servin` binary: the libraries most commands never call (libcurl,
libarchive, libmicrohttpd, GnuTLS, libcrypto, libyaml, libcrypt) are loaded on first use
(src/lib/util/dl_stubs.S), so `servin run` starts nearly as fast as `servin-runtime`."""

import os
import platform
import subprocess

import pytest

from conftest import Servin  # noqa: F401

LAZY = ("libcurl", "libarchive", "libmicrohttpd", "libgnutls", "libcrypto", "libyaml", "libcrypt.", "libnghttp2",
        "libprotobuf-c")

pytestmark = pytest.mark.skipif(platform.machine() != "x86_64", reason="the lazy-loading stubs are x86-64")


def needed(binary):
    out = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True, check=True).stdout
    return [l.split("[", 1)[1].rstrip("]") for l in out.splitlines() if "(NEEDED)" in l]


def loaded_libs(args, env=None):
    """The shared objects the dynamic loader opened for one run of the command."""
    r = subprocess.run(args, capture_output=True, text=True, env=dict(os.environ, LD_DEBUG="files", **(env or {})))
    return r, [l for l in r.stderr.splitlines() if "file=" in l and "[0];  needed by" in l or "dynamically loaded by" in l]


def skip_sanitized(binary):
    # Sanitizer builds link these libraries at start (as the memory bound, a release property).
    if any(l.startswith(("libasan", "libubsan")) for l in needed(binary)):
        pytest.skip("sanitizer build")


def test_lazy_libraries_are_not_needed_at_start(servin_bin):
    skip_sanitized(servin_bin)
    libs = needed(servin_bin)
    assert "libc.so.6" in libs
    late = [l for l in libs if l.startswith(LAZY)]
    assert not late, f"linked at start (add the functions to src/lib/util/dl_symbols.h): {late}"


def test_ps_loads_none_of_them_and_version_loads_them_on_use(servin, servin_bin):
    skip_sanitized(servin_bin)
    r, opened = loaded_libs([servin_bin, "--root", servin.root, "ps", "-a"])
    assert r.returncode == 0, r.stderr
    assert not [l for l in opened if any(x in l for x in LAZY)], opened
    # `version` reports the libcurl and libarchive versions: they load when called.
    r, opened = loaded_libs([servin_bin, "version", "--format", "json"])
    assert r.returncode == 0, r.stderr
    assert "libcurl" in r.stdout and "libarchive" in r.stdout
    assert [l for l in opened if "libcurl" in l and "dynamically loaded" in l]
    assert [l for l in opened if "libarchive" in l and "dynamically loaded" in l]
