"""Finding onboarding templates: shipped ones beside the package, the user's own in
`<config dir>/templates/*.toml` (a user template wins over a shipped one of the same name),
or any path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import paths
from ..tomlfile import named_files
from .templates import SHIPPED_DIR, Template, TemplateError, parse_template


@dataclass(frozen=True)
class Listing:
    """One entry of the template list: the template, or why its file cannot be used."""

    name: str
    path: Path
    template: Template | None = None
    error: str | None = None


def user_dir() -> Path:
    return paths.config_dir() / "templates"


def _files() -> dict[str, Path]:
    return named_files(SHIPPED_DIR, user_dir())


def list_templates() -> list[Listing]:
    """Every template by name (team templates first), broken files included with the reason."""
    out = []
    for name, path in _files().items():
        try:
            out.append(Listing(name, path, load_file(path)))
        except TemplateError as exc:
            out.append(Listing(name, path, error=str(exc)))
    return sorted(out, key=lambda e: (e.template is None, e.template.kind != "team"
                                      if e.template else True, e.name))


def load_template(ref: str) -> Template:
    """A template by name (user templates first, then shipped) or by path."""
    files = _files()
    if ref in files:
        return load_file(files[ref])
    path = Path(ref).expanduser()
    if path.suffix == ".toml" or path.exists() or "/" in ref:
        return load_file(path)
    known = ", ".join(files) or "none"
    raise TemplateError(ref, f"no template named {ref!r} (known: {known}; or give a path to a "
                             ".toml file)")


def load_file(path: Path) -> Template:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(path, getattr(exc, "strerror", None) or str(exc)) from None
    return parse_template(text, path)
