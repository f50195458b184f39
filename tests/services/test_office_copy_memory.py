"""D8, D22 (and D10, availability): a hostile Office part that exhausts memory or the stack while it is
read, parsed, cleaned or written is refused like any other Office file that cannot be cleaned
(``InvalidInput``: a 400 with a reason, no content), never a ``MemoryError``/``RecursionError`` that
ends in a 500 with a traceback.

Both are real, not simulated: a child process caps its own address space (``RLIMIT_AS``, a few tens
of megabytes above what it already uses, so nothing near the machine's memory is ever allocated) and
cleans a 50 KB package whose one part inflates to a few megabytes of XML; at some caps zipfile,
libxml2 or the serialiser runs out of memory. The same child lowers its recursion limit just above
its own depth and cleans a package with an embedded workbook, so that the nested rewrite runs out of
stack. Deep XML nesting itself never reaches Python: libxml2 refuses more than 256 levels as not
well-formed (tested below too)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from vault.errors import InvalidInput
from vault.services.office_copy import TOO_COMPLEX, strip_office

_ROOT = Path(__file__).resolve().parents[2]

_CHILD = r"""
import inspect, io, json, resource, sys, zipfile
from vault.errors import InvalidInput
from vault.services.office_copy import strip_office

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
HEAD = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
TYPES = b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'


def package(parts):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in parts.items():
            archive.writestr(name, body)
    return buffer.getvalue()


paragraph = f'<w:p w:rsidR="1"><w:r><w:t>Jan Melder</w:t></w:r></w:p>'.encode()
body = f'<w:document xmlns:w="{W}"><w:body>'.encode() + paragraph * 80_000 + b"</w:body></w:document>"
hostile = package({"[Content_Types].xml": HEAD + TYPES, "word/document.xml": HEAD + body})
inner = package({"[Content_Types].xml": HEAD + TYPES, "xl/workbook.xml": HEAD + b"<workbook/>"})
nested = package(
    {"[Content_Types].xml": HEAD + TYPES, "word/document.xml": HEAD + f'<w:document xmlns:w="{W}"/>'.encode(),
     "word/embeddings/Werkblad.xlsx": inner}
)


def outcome(data, stack=None):
    try:
        if stack is not None:  # the limit counted from strip_office's caller: it is always entered
            sys.setrecursionlimit(len(inspect.stack()) + stack)
        strip_office(data, limit=50_000_000)
    except InvalidInput as refusal:
        return "refused: " + str(refusal)
    except BaseException as escaped:  # what the test is looking for
        return "escaped: " + type(escaped).__name__
    return "copy"


def address_space():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise SystemExit("no VmSize")


memory = {}
for megabytes in range(4, 100, 4):
    resource.setrlimit(resource.RLIMIT_AS, (address_space() + megabytes * 2**20, resource.RLIM_INFINITY))
    try:
        memory[megabytes] = outcome(hostile)
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

recursion = {}
default = sys.getrecursionlimit()
for extra in range(4, 40):  # below 4 frames not even the refusal can be raised: no real state
    try:
        recursion[extra] = outcome(nested, stack=extra)
    finally:
        sys.setrecursionlimit(default)

print(json.dumps({"memory": memory, "recursion": recursion, "unlimited": outcome(hostile)}))
"""


@pytest.fixture(scope="module")
def outcomes() -> dict[str, dict[str, str] | str]:
    run = subprocess.run(
        [sys.executable, "-c", _CHILD], cwd=_ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stderr == ""  # no traceback anywhere
    result: dict[str, dict[str, str] | str] = json.loads(run.stdout)
    return result


def test_d22_running_out_of_memory_on_a_hostile_part_is_a_refusal(
    outcomes: dict[str, dict[str, str] | str],
) -> None:
    memory = outcomes["memory"]
    assert isinstance(memory, dict)
    escaped = {cap: result for cap, result in memory.items() if result.startswith("escaped")}
    assert escaped == {}, f"MiB above use → outcome: {escaped}"
    assert f"refused: {TOO_COMPLEX}" in memory.values()  # MemoryError was really raised, and refused
    assert all(result == "copy" or result.startswith("refused: ") for result in memory.values())
    assert not any("Jan Melder" in result for result in memory.values())
    assert outcomes["unlimited"] == "copy"  # the same package with memory to spare is cleaned


def test_d22_running_out_of_stack_on_a_nested_package_is_the_same_refusal(
    outcomes: dict[str, dict[str, str] | str],
) -> None:
    recursion = outcomes["recursion"]
    assert isinstance(recursion, dict)
    assert f"refused: {TOO_COMPLEX}" in recursion.values()  # RecursionError was really raised
    assert all(result in {"copy", f"refused: {TOO_COMPLEX}"} for result in recursion.values()), recursion
    assert "copy" in recursion.values()  # with a little more stack the same package is cleaned


def test_d22_deep_xml_nesting_is_refused_by_the_parser_before_python_recurses() -> None:
    nesting = 100_000
    part = b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    deep = part + b"<w:p>" * nesting + b"</w:p>" * nesting + b"</w:document>"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
        )
        archive.writestr("word/document.xml", deep)
    with pytest.raises(InvalidInput, match="not well-formed XML"):
        strip_office(buffer.getvalue(), limit=50_000_000)
