"""The output formats: one writer per format, found by name (as Sphinx finds its builders).

A writer is a module of this package that defines `WRITER`, an instance of a
`Writer` subclass; its templates are in `templates/<name>/`. Adding a format is
adding that module and that folder: the CLI gets a verb of the writer's name,
and `build.Build.write` runs it. Other packages can add writers through the
`build_report.writers` entry-point group (a name -> a `Writer` instance).

A writer reads the parsed model (`build.manuscript`) and what the build has
made once for every writer (`build.layout()`, `build.page_map()`); it never
parses Markdown or reads the manuscript's files itself except through the model.

Modules here are imported only when their writer is asked for: the PDF's and
the EPUB's import WeasyPrint, which takes half a second.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from ..build import Build

ENTRY_POINTS = "build_report.writers"


@dataclass(frozen=True)
class Setting:
    """A command-line option of one writer: `--single-file` becomes settings['single_file']."""

    flag: str
    help: str
    action: str = "store_true"
    default: Any = None


@dataclass
class Writer:
    """One output format. Subclasses set the class attributes and define `write`."""

    name: ClassVar[str]
    help: ClassVar[str]
    suffix: ClassVar[str]  # the default output is build/<slug><suffix>; a suffix ending in "/" is a folder
    final: ClassVar[bool] = True  # refused while review marks remain in the manuscript
    settings_spec: ClassVar[tuple[Setting, ...]] = ()
    settings: dict[str, Any] = field(default_factory=dict)  # the values of settings_spec

    def write(self, build: Build, out: Path) -> None:
        raise NotImplementedError

    def default_output(self, slug: str) -> Path:
        return Path("build") / f"{slug}{self.suffix.rstrip('/')}"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        for setting in self.settings_spec:
            parser.add_argument(setting.flag, action=setting.action, default=setting.default, help=setting.help)

    def configured(self, values: dict[str, Any]) -> Writer:
        """A copy of this writer with its settings taken from `values` (the parsed arguments)."""
        names = [setting.flag.lstrip("-").replace("-", "_") for setting in self.settings_spec]
        return type(self)({name: values.get(name) for name in names})


def names() -> list[str]:
    """Every writer's name: the modules of this package, then those of installed plugins."""
    here = [module.name.replace("_", "-") for module in pkgutil.iter_modules(__path__)
            if not module.name.startswith("_")]
    plugins = [entry.name for entry in metadata.entry_points(group=ENTRY_POINTS) if entry.name not in here]
    return here + sorted(plugins)


def get(name: str) -> Writer:
    """The writer called `name` (KeyError when there is none)."""
    module_name = name.replace("-", "_")
    if any(module.name == module_name for module in pkgutil.iter_modules(__path__)):
        writer = importlib.import_module(f"{__name__}.{module_name}").WRITER
    else:
        entry = next((e for e in metadata.entry_points(group=ENTRY_POINTS) if e.name == name), None)
        if entry is None:
            raise KeyError(name)
        writer = entry.load()
    if not isinstance(writer, Writer) or writer.name != name:
        raise TypeError(f"writer module for '{name}' does not define WRITER = a Writer named '{name}'")
    return writer

