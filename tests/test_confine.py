"""The one confinement rule (build_report/confine.py), case by case."""

from __future__ import annotations

from pathlib import Path

import pytest

from build_report import confine


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "manuscript"
    (root / "chapters").mkdir(parents=True)
    (root / "chapters" / "a.md").write_text("a")
    (root / "chapters" / "in.md").symlink_to("a.md")
    (tmp_path / "secret.txt").write_text("secret")
    (root / "chapters" / "out.md").symlink_to(tmp_path / "secret.txt")
    (root / "up").symlink_to(tmp_path)
    return root


@pytest.mark.parametrize("name, base, inside", [
    ("chapters/a.md", "", "chapters/a.md"),
    ("a.md", "chapters/x.md", "chapters/a.md"),
    ("./chapters/../chapters/a.md", "", "chapters/a.md"),
    ("chapters/in.md", "", "chapters/a.md"),  # a symlink inside reads as its target
    ("chapters/out.md", "", None),  # a symlink out
    ("up/secret.txt", "", None),  # a symlinked folder out
    ("../secret.txt", "", None),
    ("../../secret.txt", "chapters/x.md", None),
    ("/etc/passwd", "", None),
    ("\\\\server\\share", "", None),
    ("C:/Windows/win.ini", "", None),
    ("file:///etc/passwd", "", None),
    ("FILE:///etc/passwd", "", None),
    (" fi\tle:/etc/passwd", "", None),
    ("https://example.org/x.png", "", None),
    ("", "", None),
])
def test_inside(tree: Path, name: str, base: str, inside: str | None) -> None:
    if inside is None:
        with pytest.raises(confine.Outside):
            confine.inside(tree, name, base)
    else:
        assert confine.relative(confine.inside(tree, name, base), tree) == inside


@pytest.mark.parametrize("url, allowed", [
    ("file://{root}/chapters/a.md", True),
    ("FILE://{root}/chapters/a.md", True),
    ("file://{root}/chapters/%61.md", True),
    ("file://{root}/chapters/out.md", False),
    ("file://{root}/../secret.txt", False),
    ("file://{root}/%2E%2E/secret.txt", False),
    ("file:///etc/passwd", False),
    ("file://localhost{root}/chapters/a.md", False),  # a host, even this one, is never looked up
    ("file://fileserver/share/x.png", False),
    ("\tfile://fileserver/x", False),
    ("http://127.0.0.1/x", False),
    ("HTTPS://example.org/x", False),
    ("ftp://example.org/x", False),
    ("javascript:alert(1)", False),
])
def test_local_path(tree: Path, url: str, allowed: bool) -> None:
    url = url.replace("{root}", str(tree))
    if allowed:
        assert confine.local_path(url, [tree]) == (tree / "chapters" / "a.md").resolve()
    else:
        with pytest.raises(confine.Outside):
            confine.local_path(url, [tree])


def test_data_urls_are_not_files(tree: Path) -> None:
    assert confine.local_path("data:image/png;base64,AAAA", [tree]) is None
    assert confine.local_path("DATA:,x", [tree]) is None


def test_file_problem(tree: Path, tmp_path: Path) -> None:
    import os

    os.mkfifo(tmp_path / "pipe")
    assert confine.file_problem(tree / "chapters" / "a.md") is None
    assert confine.file_problem(tree / "nothing") == "not found"
    assert confine.file_problem(tree / "chapters") == "is a folder, not a file"
    assert confine.file_problem(tmp_path / "pipe").startswith("is not a regular file")
    assert confine.file_problem(Path("/dev/zero")).startswith("is not a regular file")
