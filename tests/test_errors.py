"""Every kind of manuscript error is reported as `path:line: error: message`,
all in one run, with exit code 2, no traceback, and the previous output kept."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
import yaml

from build_report.cli import main

DATA = Path(__file__).parent / "data" / "mini"
CASES = yaml.safe_load((Path(__file__).parent / "cases" / "errors.yaml").read_text(encoding="utf-8"))


def _image_bytes(spec: dict) -> bytes:
    """{png: [w, h]} a real PNG; {png_truncated: [w, h]} one cut short; {hex: "..."} raw bytes."""
    from PIL import Image

    if "hex" in spec:
        return bytes.fromhex(spec["hex"])
    size = spec.get("png") or spec["png_truncated"]
    out = io.BytesIO()
    Image.effect_noise(tuple(size), 40).convert("RGB").save(out, "PNG")
    data = out.getvalue()
    return data if "png" in spec else data[: len(data) // 2]


def edited_copy(tmp_path: Path, edits: dict, encoding: str = "utf-8", crlf: tuple = (), bom: tuple = ()) -> Path:
    root = tmp_path / "manuscript"
    shutil.copytree(DATA, root)
    for name, changes in edits.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if changes is None:
            path.unlink()
            continue
        if isinstance(changes, dict):
            path.write_bytes(_image_bytes(changes))
            continue
        text = changes if isinstance(changes, str) else path.read_text(encoding="utf-8")
        for old, new in [] if isinstance(changes, str) else changes:
            assert old in text, f"test case edit does not apply: {old!r} not in {name}"
            text = text.replace(old, new)
        path.write_text(text, encoding=encoding)
    for name in crlf:
        path = root / name
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    for name in bom:
        path = root / name
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    return root


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_error_case(case: dict, tmp_path: Path) -> None:
    root = edited_copy(tmp_path, case["edits"], case.get("encoding", "utf-8"), case.get("crlf", ()), case.get("bom", ()))
    output = tmp_path / "out.html"
    output.write_text("previous good output")
    code, _, err = run(["html", str(root), "-o", str(output)])
    lines = err.splitlines()
    assert code == case.get("exit", 2), err
    assert "Traceback" not in err
    for expected in case["expect"]:
        assert any(line.startswith(expected) for line in lines), f"{expected!r} not in:\n{err}"
    if code:
        assert len([line for line in lines if ": error: " in line]) == len(case["expect"]), err
        assert output.read_text() == "previous good output"
    else:  # a build that succeeds prints exactly the expected warnings
        assert len([line for line in lines if ": warning: " in line or ": error: " in line]) == len(case["expect"]), err


def test_failed_pdf_build_keeps_previous_pdf(tmp_path: Path) -> None:
    root = edited_copy(tmp_path, {"chapters/01-first.md": [["— Ashbury,", "— Ashbry,"]]})
    output = tmp_path / "report.pdf"
    output.write_bytes(b"%PDF previous")
    code, _, err = run(["pdf", str(root), "-o", str(output)])
    assert code == 2 and output.read_bytes() == b"%PDF previous"
    assert list(tmp_path.glob(".report.pdf.*")) == []  # no temporary file left behind


def test_strict_turns_warnings_into_failure(tmp_path: Path) -> None:
    root = edited_copy(tmp_path, {"report.yaml": [["language: en-GB", "language: en-GB\nlanguge: fr"]]})
    code, _, err = run(["html", str(root), "-o", str(tmp_path / "x.html"), "--strict"])
    assert code == 2 and "report.yaml:8: warning: unknown key 'languge'" in err


@pytest.mark.parametrize("argv, code, text", [
    (["--version"], 0, "build-report 0.1.0"),
    (["pdf", "--help"], 0, "usage: build-report pdf"),
    (["frobnicate"], 2, "invalid choice"),
    (["pdf", "no/such/folder"], 2, "no/such/folder: error: manuscript folder not found"),
])
def test_usage(argv: list[str], code: int, text: str, capsys) -> None:
    got, out, err = run(argv)
    captured = capsys.readouterr()
    assert got == code
    assert text in out + err + captured.out + captured.err
