"""`ps -s/--size`: the SIZE column, Docker's "<written> (virtual <written + image>)", from the
container's upper dir.  Fixtures come from test_run.py."""

import json
import os
import re

import pytest

from test_run import IMAGE, bb, busybox_rootfs, short_servin  # noqa: F401

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")

UNITS = {"B": 1, "kB": 1000, "MB": 1000 ** 2, "GB": 1000 ** 3}


def parse(text):
    m = re.fullmatch(r"([\d.]+)(B|kB|MB|GB) \(virtual ([\d.]+)(B|kB|MB|GB)\)", text)
    assert m, text
    return float(m.group(1)) * UNITS[m.group(2)], float(m.group(3)) * UNITS[m.group(4)]


def test_size_column_counts_what_the_container_wrote(bb):
    bb.ok("run", "--name", "small", IMAGE, "true")
    bb.ok("run", "--name", "big", IMAGE, "sh", "-c", "head -c 300000 /dev/zero > /blob; rm /bin/ls")
    lines = bb.lines("ps", "-a", "-s")
    assert re.split(r"\s{2,}", lines[0].strip())[-2:] == ["NAMES", "SIZE"]
    rows = {json.loads(l)["Names"]: json.loads(l) for l in bb.lines("ps", "-a", "--size", "--format", "json")}
    small_rw, small_virtual = parse(rows["small"]["Size"])
    big_rw, big_virtual = parse(rows["big"]["Size"])
    assert small_rw < 1000
    assert 299000 <= big_rw <= 301000
    # The virtual size is the image's plus what the container wrote.
    assert abs((big_virtual - big_rw) - (small_virtual - small_rw)) < 0.02 * small_virtual
    assert small_virtual > 100000
    # The template sees .Size too; without -s the column is not there.
    assert bb.lines("ps", "-as", "--format", "{{.Names}}={{.Size}}", "--filter", "name=big")[0].startswith("big=300kB")
    assert "SIZE" not in bb.lines("ps", "-a")[0]
