"""The bad-input corpus: every kind of broken or hostile manuscript, and what the tool must say.

Each case in `tests/cases/errors/*.yaml` edits a copy of `tests/data/mini`, runs one
command in-process, and states the exit code and the exact diagnostic lines on stderr.
Whatever the case, the test also checks the promises that hold for every input:
- no traceback, and every stderr line is a diagnostic or a `build-report:` message;
- the previous output is byte-identical after a failure, and no temporary file is left;
- the manuscript itself is unchanged (bytes, modes, symlinks) unless the case says which
  files may change;
- the canary files outside the manuscript never reach stdout, stderr or any output.

Case keys:
  edits:   {file: [[old, new], ...]} replaces text, {file: "text"} the whole file, {file: null}
           deletes it; {file: {png: [w, h]}}, {png_truncated: [w, h]}, {hex: "..."} write image
           bytes; {symlink: target}, {fifo: true}, {repeat: [text, n]}, {mode: 0o600} as named.
           {parts: [...]} writes generated text, part after part: a string as it is, [text, n] the
           text n times, [text, n, indent] n lines of text, each indented once more than the last
           (`["- x\n", 500, "    "]` is a list nested 500 deep).
           `{outside}` in any text is the folder beside the manuscript that holds the canaries.
  argv:    the command, default [html, "{root}", -o, "{out}"]; `{root}`, `{out}`, `{outside}`.
  env:     environment variables for the run.
  exit:    the expected exit code (default 2).
  expect:  the exact `path:line: error|warning: ...` and `build-report: ...` lines, in any order
           (with the same placeholders as argv).
  stdout:  lines that must appear on stdout.
  changes: manuscript files the command may rewrite (accept, reject); each may gain one new backup
           (<file>.bak, or .bak.1, .bak.2 ... when that exists) with its previous bytes and mode.
  encoding, crlf, bom: write edited files in another encoding, with CRLF, with a BOM.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import stat
from pathlib import Path

import pytest
import yaml

from build_report.cli import main

DATA = Path(__file__).parent / "data" / "mini"
CASE_DIR = Path(__file__).parent / "cases" / "errors"
CASES = [dict(case, file=path.name) for path in sorted(CASE_DIR.glob("*.yaml"))
         for case in yaml.safe_load(path.read_text(encoding="utf-8"))]
CANARY = "CANARY-5b1e-never-published"
BACKUP = re.compile(r"(.+)\.bak(?:\.\d+)?")  # what accept/reject keep of a file they rewrite
CANARY_COLOUR = (0x5B, 0x1E, 0xCA)  # canary.png's pixels: found in a PDF's images, where text chunks are not kept


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


def make_outside(tmp_path: Path) -> Path:
    """Files beside the manuscript that no build may read: each carries the canary text."""
    from PIL import Image, PngImagePlugin

    outside = tmp_path / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "canary.txt").write_text(f"{CANARY}\n")
    (outside / "canary.md").write_text(f"# {CANARY}\n\n{CANARY} in a paragraph.\n")
    # The places of tests/data/mini, so a build that read it would publish the regions.
    (outside / "canary.yaml").write_text(f"ashbury:\n  name: Ashbury\n  region: {CANARY}\n"
                                         f"brackenfold:\n  name: Brackenfold\n  region: {CANARY}\n")
    (outside / "canary.css").write_text(f"body::before {{ content: '{CANARY}'; }}\n")
    (outside / "canary.svg").write_text(f"<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'>"
                                        f"<text y='9'>{CANARY}</text></svg>")
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", CANARY)
    Image.new("RGB", (8, 8), CANARY_COLOUR).save(outside / "canary.png", pnginfo=info)
    return outside


def _fill(value, **names: Path | str):
    if isinstance(value, str):
        for name, path in names.items():
            value = value.replace("{" + name + "}", str(path))
        return value
    if isinstance(value, list):
        return [_fill(v, **names) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, **names) for k, v in value.items()}
    return value


def _write(path: Path, spec, encoding: str) -> None:
    if spec is None:
        path.unlink()
    elif isinstance(spec, dict) and "symlink" in spec:
        path.unlink(missing_ok=True)
        path.symlink_to(spec["symlink"])
    elif isinstance(spec, dict) and "fifo" in spec:
        path.unlink(missing_ok=True)
        os.mkfifo(path)
    elif isinstance(spec, dict) and "repeat" in spec:
        text, count = spec["repeat"]
        path.write_text(text * count, encoding=encoding)
    elif isinstance(spec, dict) and "parts" in spec:
        path.write_text("".join(_generate(part) for part in spec["parts"]), encoding=encoding)
    elif isinstance(spec, dict) and "mode" in spec:
        path.chmod(spec["mode"])
    elif isinstance(spec, dict):
        path.write_bytes(_image_bytes(spec))
    else:
        text = spec if isinstance(spec, str) else path.read_text(encoding="utf-8")
        for old, new in [] if isinstance(spec, str) else spec:
            assert old in text, f"test case edit does not apply: {old!r} not in {path.name}"
            text = text.replace(old, new)
        path.write_text(text, encoding=encoding)


def _generate(part: str | list) -> str:
    """One of {parts: [...]}: "text", [text, n] or [text, n, indent]."""
    if isinstance(part, str):
        return part
    text, count, *indent = part
    return "".join(indent[0] * level + text for level in range(count)) if indent else text * count


def edited_copy(tmp_path: Path, edits: dict, encoding: str = "utf-8", crlf: tuple = (), bom: tuple = ()) -> Path:
    root = tmp_path / "manuscript"
    shutil.copytree(DATA, root)
    outside = make_outside(tmp_path)
    for name, spec in edits.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        _write(path, _fill(spec, outside=outside, root=root), encoding)
    for name in crlf:
        path = root / name
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    for name in bom:
        path = root / name
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    return root


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every entry under `folder`: its kind, mode and bytes (a link's target, not the file it names)."""
    entries: dict[str, tuple] = {}
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            entries[path.relative_to(folder).as_posix()] = ("link", os.readlink(path))
        elif stat.S_ISREG(info.st_mode):
            entries[path.relative_to(folder).as_posix()] = ("file", stat.S_IMODE(info.st_mode), path.read_bytes())
        else:
            entries[path.relative_to(folder).as_posix()] = ("other", stat.S_IFMT(info.st_mode))
    return entries


def run(argv: list[str], env: dict | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in (env or {}).items():
            patch.setenv(name, str(value))
        code = main(argv, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _is_message(line: str) -> bool:
    return ": error: " in line or ": warning: " in line or line.startswith("build-report: ")


@pytest.mark.parametrize("case", CASES, ids=[f"{c['file']}: {c['name']}" for c in CASES])
def test_error_case(case: dict, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    root = edited_copy(tmp_path, case.get("edits", {}), case.get("encoding", "utf-8"),
                       case.get("crlf", ()), case.get("bom", ()))
    outputs = tmp_path / "build"
    outputs.mkdir()
    out = outputs / "out.html"
    out.write_bytes(b"previous good output\n")
    before = snapshot(root)
    previous = snapshot(outputs)
    argv = _fill(case.get("argv", ["html", "{root}", "-o", "{out}"]), root=root, out=out, outside=tmp_path / "outside")
    code, stdout, err = run(argv, case.get("env"))

    assert "Traceback" not in err + stdout
    assert code == case.get("exit", 2), err
    lines = err.splitlines()
    assert [line for line in lines if not _is_message(line)] == [], "stderr holds something other than diagnostics"
    expected = _fill(case["expect"], root=root, out=out, outside=tmp_path / "outside")
    assert sorted(line for line in lines if _is_message(line)) == sorted(expected), err
    for line in case.get("stdout", []):
        assert line in stdout.splitlines(), stdout
    assert CANARY not in stdout + err
    after = snapshot(root)
    allowed = set(case.get("changes", ()))
    # A file that may change may gain one new backup (<file>.bak, .bak.1, ...) holding its previous bytes
    # and mode; an existing backup is part of the manuscript and never changes.
    backups = {k for k in after if k not in before and BACKUP.fullmatch(k)}
    for name in backups:
        original = BACKUP.fullmatch(name).group(1)
        assert original in allowed and after[name] == before[original], f"{name} is not a backup of {original}"
    assert {k: v for k, v in after.items() if k not in allowed and k not in backups} == \
           {k: v for k, v in before.items() if k not in allowed}, "the manuscript was changed"
    if code:
        assert snapshot(outputs) == previous, "a failed run changed the previous output"
    for path in outputs.rglob("*"):
        assert not path.name.endswith(".tmp"), f"temporary file left: {path}"
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes()


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
