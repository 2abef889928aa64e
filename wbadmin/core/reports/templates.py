"""Report templates by name: a user's `<config dir>/reports/NAME.toml` shadows a shipped
`templates/NAME.toml` beside this module. The format is model.py's docstring.

Every problem is `file:line: reason` (a ConfigFileError, so every command exits 8 on it):
unknown keys, block types and panel kinds, a panel kind given metrics it cannot show, a runs
filter `wandb_workspaces.expr` cannot parse, and — once the caller knows the org — a team
that does not exist (`check_teams`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import errors as E
from .. import paths, tomlfile
from ..settings import ConfigFileError
from .model import AUDIENCES, BLOCK_KINDS, FIGURES, PANEL_KINDS, Block, Panel, ReportTemplate
from .template_lines import TemplateLines

SHIPPED_DIR = Path(__file__).with_name("templates")
REPORT_KEYS = ("title", "description", "audience", "teams", "runs")
BLOCK_KEYS = {"markdown": ("kind", "text"), "figures": ("kind", "figures"),
              "panels": ("kind", "runs", "panels")}
PANEL_KEYS = ("kind", "title", "metrics", "x")
# How many metrics each panel kind can show: (at least, at most; None = no upper bound).
METRIC_COUNTS: dict[str, tuple[int, int | None]] = {
    "line": (1, None), "bar": (1, None), "scalar": (1, 1), "run_comparer": (0, 0),
    "parallel_coordinates": (2, None)}


class TemplateError(ConfigFileError):
    """A report template that cannot be used: `file:line: reason`."""

    def __init__(self, path: Path | str, reason: str, line: int | None = None) -> None:
        super().__init__(Path(path), reason, line)
        self.message = f"{path}:{line}: {reason}" if line else f"{path}: {reason}"
        self.args = (self.message,)

    def __str__(self) -> str:
        return self.message


class UnknownTemplate(E.NotFound):
    """No template of that name (exit 5, as an unknown team): said with the names there are."""

    hint = ""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        super().__init__(f"no report template named {name!r} (known: "
                         f"{', '.join(known) or 'none'}; yours go in {user_dir()}/NAME.toml)")


@dataclass(frozen=True)
class Listing:
    """One entry of `list_templates()`: the template, or why its file cannot be used."""

    name: str
    path: Path
    shipped: bool
    template: ReportTemplate | None = None
    error: str | None = None


def user_dir() -> Path:
    return paths.config_dir() / "reports"


def _files() -> dict[str, Path]:
    return tomlfile.named_files(SHIPPED_DIR, user_dir())


def list_templates() -> list[Listing]:
    """Every template by name, a user's in place of a shipped one; broken files included."""
    out = []
    for name, path in sorted(_files().items()):
        shipped = path.parent == SHIPPED_DIR
        try:
            out.append(Listing(name, path, shipped, load_file(path)))
        except TemplateError as exc:
            out.append(Listing(name, path, shipped, error=str(exc)))
    return out


def load_template(name: str) -> ReportTemplate:
    files = _files()
    if name not in files:
        raise UnknownTemplate(name, files)
    return load_file(files[name])


def load_file(path: Path) -> ReportTemplate:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise TemplateError(path, "it is not UTF-8 text") from None
    except OSError as exc:
        raise TemplateError(path, exc.strerror or str(exc)) from None
    template = parse_template(text, path)
    check_filters(template, TemplateLines(text))
    return template


def parse_template(text: str, path: Path) -> ReportTemplate:
    try:
        data = tomlfile.loads(text)
    except tomlfile.TomlSyntaxError as exc:
        raise TemplateError(path, exc.reason, exc.line) from None
    return _Parser(path, TemplateLines(text)).template(data)


class _Parser:
    def __init__(self, path: Path, lines: TemplateLines) -> None:
        self.path, self.lines = path, lines

    def fail(self, where: tuple[str | int, ...], reason: str) -> TemplateError:
        return TemplateError(self.path, reason, self.lines.line(where))

    def unknown(self, table: dict[str, Any], allowed: Iterable[str],
                where: tuple[str | int, ...], what: str) -> None:
        allowed = tuple(allowed)
        for key in table:
            if key not in allowed:
                raise self.fail((*where, key), f"unknown key {key!r} in {what} "
                                f"(known: {', '.join(allowed)})")

    def text(self, table: dict[str, Any], key: str, where: tuple[str | int, ...],
             default: str | None = None) -> str:
        value = table.get(key, default)
        if value is None:
            raise self.fail(where, f"{key!r} is required")
        if not isinstance(value, str):
            raise self.fail((*where, key), f"{key!r} must be a string")
        return value

    def names(self, table: dict[str, Any], key: str, where: tuple[str | int, ...]
              ) -> tuple[str, ...]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail((*where, key), f"{key!r} must be a list of names")
        return tuple(value)

    def template(self, data: dict[str, Any]) -> ReportTemplate:
        self.unknown(data, ("report", "blocks"), (), "the template")
        report = data.get("report")
        if not isinstance(report, dict):
            raise self.fail(("report",), "a [report] table is required")
        where = ("report",)
        self.unknown(report, REPORT_KEYS, where, "[report]")
        audience = self.text(report, "audience", where, "governance")
        if audience not in AUDIENCES:
            raise self.fail((*where, "audience"), f"unknown audience {audience!r} "
                            f"(known: {', '.join(AUDIENCES)})")
        blocks = data.get("blocks", [])
        if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
            raise self.fail(("blocks",), "blocks must be [[blocks]] tables")
        return ReportTemplate(
            name=self.path.stem, title=self.text(report, "title", where),
            description=self.text(report, "description", where, ""), audience=audience,
            teams=self.names(report, "teams", where),
            runs=self.text(report, "runs", where, ""),
            blocks=tuple(self.block(b, i) for i, b in enumerate(blocks)), path=self.path)

    def block(self, raw: dict[str, Any], i: int) -> Block:
        where: tuple[str | int, ...] = ("blocks", i)
        kind = self.text(raw, "kind", where)
        if kind not in BLOCK_KINDS:
            raise self.fail((*where, "kind"), f"unknown block type {kind!r} "
                            f"(known: {', '.join(BLOCK_KINDS)})")
        self.unknown(raw, BLOCK_KEYS[kind], where, f"a {kind} block")
        line = self.lines.line(where) or 0
        if kind == "markdown":
            return Block(kind, text=self.text(raw, "text", where), line=line)
        if kind == "figures":
            figures = self.names(raw, "figures", where) or FIGURES
            for name in figures:
                if name not in FIGURES:
                    raise self.fail((*where, "figures"), f"unknown figure {name!r} "
                                    f"(known: {', '.join(FIGURES)})")
            return Block(kind, figures=figures, line=line)
        panels = raw.get("panels", [])
        if not isinstance(panels, list) or not panels \
                or not all(isinstance(p, dict) for p in panels):
            raise self.fail((*where, "panels"), "a panels block needs [[blocks.panels]] tables")
        return Block(kind, runs=self.text(raw, "runs", where, ""), line=line,
                     panels=tuple(self.panel(p, (*where, "panels", j))
                                  for j, p in enumerate(panels)))

    def panel(self, raw: dict[str, Any], where: tuple[str | int, ...]) -> Panel:
        self.unknown(raw, PANEL_KEYS, where, "a panel")
        kind = self.text(raw, "kind", where)
        if kind not in PANEL_KINDS:
            raise self.fail((*where, "kind"), f"unknown panel kind {kind!r} "
                            f"(known: {', '.join(PANEL_KINDS)})")
        metrics = self.names(raw, "metrics", where)
        least, most = METRIC_COUNTS[kind]
        if len(metrics) < least or (most is not None and len(metrics) > most):
            want = ("no metrics" if most == 0 else f"exactly {least} metric" if least == most
                    else f"at least {least} metric{'s' if least > 1 else ''}")
            raise self.fail((*where, "metrics") if "metrics" in raw else (*where, "kind"),
                            f"a {kind} panel shows {want}, not {len(metrics)}")
        x = raw.get("x")
        if x is not None and kind != "line":
            raise self.fail((*where, "x"), f"'x' is for line panels only, not {kind}")
        if x is not None and not isinstance(x, str):
            raise self.fail((*where, "x"), "'x' must be a string")
        title = self.text(raw, "title", where, ", ".join(metrics) or kind.replace("_", " "))
        return Panel(kind, title, metrics, x, line=self.lines.line(where) or 0)


def check_filters(template: ReportTemplate, lines: TemplateLines | None = None) -> None:
    """Every runs filter must parse as `wandb_workspaces.expr`: publishing would fail on it
    later, after the plan was shown. The library is imported here, never at start-up."""
    filters = [(("report", "runs"), template.runs)]
    filters += [(("blocks", i, "runs"), b.runs) for i, b in enumerate(template.blocks)]
    filters = [(where, text) for where, text in filters if text.strip()]
    if not filters:
        return
    try:
        from wandb_workspaces import expr
    except ImportError:
        raise TemplateError(template.path or template.name, "cannot check its runs filters: "
                            "wandb-workspaces is not installed (pip install wandb-workspaces)"
                            ) from None
    for where, text in filters:
        try:
            with warnings.catch_warnings():  # it warns that `<` means `<=`: not our error
                warnings.simplefilter("ignore")
                expr.expr_to_filters(text)
        except Exception as exc:  # SyntaxError, ValueError, ...: anything it cannot take
            line = lines.line(where) if lines else None
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise TemplateError(template.path or template.name,
                                f"runs filter {text!r} is not a wandb_workspaces.expr "
                                f"filter: {reason}", line) from None


def check_teams(template: ReportTemplate, known: Iterable[str]) -> None:
    """The template's teams must exist in the org (as cached): a typo would otherwise show
    an empty report. Called by the commands once they know the org's team names."""
    known = set(known)
    for team in template.teams:
        if team not in known:
            line = None
            if template.path is not None:
                try:
                    line = TemplateLines(template.path.read_text("utf-8")).line(
                        ("report", "teams"))
                except OSError:
                    line = None
            raise TemplateError(template.path or template.name, f"unknown team {team!r} "
                                "(not among the teams you can see, as last synced)", line)
