"""Guards for the rules of the house (DESIGN.md sections 2 and 5).

1. Only ``app/ui`` imports PySide6: importing the domain, the store, the application
   service and the CLI must load no Qt at all, so they stay usable headless (CLI, servers,
   workers) and testable without a display.
2. PySide6 stays below 6.12: PySide6 6.12.0 on CPython 3.11 drops a reference to ``None``
   on every call of a void (``None``-returning) Qt method; after a few thousand calls
   ``None``'s reference count reaches zero and the interpreter aborts
   ("Fatal Python error: none_dealloc"). pyproject.toml pins ``PySide6-Essentials<6.12``;
   these tests catch a pin that was loosened, and any other release with the same bug.
3. The layers hold and the studio is the one door: the import contracts in pyproject.toml
   (``lint-imports``, also run by ``make lint``) keep each layer from importing the ones
   above it, and keep the GUI and the command line from reaching past the studio into the
   engine, the importers, the connectors or the store.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

#: The modules DESIGN.md names as Qt-free; each must exist and import without Qt.
QT_FREE_MODULES = ("app.core", "app.store", "app.studio", "app.cli")


_REPORT = """
qt = sorted(m for m in sys.modules if m.startswith(("PySide6", "shiboken6")))
print(json.dumps({"imported": imported, "qt": qt}))
"""


def _qt_modules_loaded_by(script: str) -> dict[str, list[str]]:
    """Run ``script`` in a fresh interpreter and report which Qt modules it loaded.

    ``script`` imports modules and lists their names in ``imported``.
    """
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script) + _REPORT],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, (
        f"importing the Qt-free modules failed (exit {proc.returncode}):\n{proc.stderr}"
    )
    result: dict[str, list[str]] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_core_store_studio_cli_import_no_qt() -> None:
    """app.core, app.store, app.studio and app.cli import without loading PySide6."""
    result = _qt_modules_loaded_by(
        f"""
        import importlib, json, sys
        imported = []
        for name in {QT_FREE_MODULES!r}:
            importlib.import_module(name)
            imported.append(name)
        """
    )
    assert result["qt"] == [], f"importing {QT_FREE_MODULES} loaded Qt: {result['qt']}"


def test_every_module_outside_app_ui_imports_no_qt() -> None:
    """Every module of ``app`` except ``app.ui`` (and non-importable scripts) loads no Qt.

    Skipped: ``app.ui``, Alembic's migration scripts (they only run inside Alembic) and
    ``__main__`` modules (importing one would start the program).
    """
    result = _qt_modules_loaded_by(
        """
        import importlib, json, pkgutil, sys
        import app
        imported = []

        def walk(path, prefix):
            # Not pkgutil.walk_packages: that would import app.ui to look inside it.
            for info in pkgutil.iter_modules(path, prefix):
                parts = info.name.split(".")
                if parts[:2] == ["app", "ui"] or "migrations" in parts:
                    continue
                if parts[-1] == "__main__":
                    continue
                module = importlib.import_module(info.name)
                imported.append(info.name)
                if info.ispkg:
                    walk(module.__path__, info.name + ".")

        walk(app.__path__, "app.")
        """
    )
    assert result["qt"] == [], (
        f"a module outside app.ui loaded Qt: {result['qt']}; imported: {result['imported']}"
    )


def test_import_contracts_hold() -> None:
    """``lint-imports`` finds every contract of pyproject.toml kept.

    Runs the venv's own ``lint-imports`` on this checkout (``make test`` runs pytest, not
    ``make lint``, so this is what enforces the contracts in CI). A broken contract lists
    each offending import as ``module -> module (l.N)``.
    """
    lint_imports = Path(sys.executable).parent / "lint-imports"
    assert lint_imports.exists(), f"import-linter is not installed next to {sys.executable}"
    proc = subprocess.run(
        [str(lint_imports), "--no-cache", "--no-logo"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, f"an import contract is broken:\n{proc.stdout}{proc.stderr}"
    assert "0 broken" in proc.stdout, proc.stdout


def test_the_studio_exports_what_it_names() -> None:
    """Every name in ``app.studio.__all__`` resolves: the words the GUI and the command
    line take from the studio instead of the engine and the importers (loaded on first
    use, so a misspelt entry would only fail when a command first needs it)."""
    import app.studio

    missing = [name for name in app.studio.__all__ if not hasattr(app.studio, name)]
    assert missing == []


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


@pytest.mark.skipif(
    sys.implementation.name != "cpython" or sys.version_info[:2] != (3, 11),
    reason="the PySide6 6.12 None-refcount bug concerns CPython 3.11",
)
def test_pyside6_is_pinned_below_6_12_on_cpython_311() -> None:
    """The installed PySide6/shiboken6 honour the ``<6.12`` pin from pyproject.toml."""
    import PySide6
    import shiboken6

    for name, version in (
        ("PySide6", PySide6.__version__),
        ("shiboken6", shiboken6.__version__),
    ):
        assert _version_tuple(version) < (6, 12), (
            f"{name} {version} is installed; on CPython 3.11, 6.12.0 drops a reference to "
            "None on every void call and aborts. Keep PySide6-Essentials<6.12."
        )


def test_void_qt_calls_keep_none_refcount(qapp: object) -> None:
    """Calling void Qt setters 20,000 times leaves ``sys.getrefcount(None)`` unchanged.

    A broken binding (PySide6 6.12.0 on CPython 3.11) loses one reference to ``None`` per
    call; ``None`` starts with only a few thousand references, so the loop checks after
    every batch and stops early with a failure, before the interpreter would abort.
    """
    from PySide6.QtCore import QObject
    from PySide6.QtWidgets import QWidget

    obj = QObject()
    widget = QWidget()
    slack = 100
    batch = 50  # each iteration makes two void calls
    calls = 0
    baseline = sys.getrefcount(None)
    while calls < 20_000:
        for _ in range(batch):
            obj.setObjectName("x")
            widget.setEnabled(True)
        calls += 2 * batch
        lost = baseline - sys.getrefcount(None)
        assert lost < slack, (
            f"None lost {lost} references over {calls} void Qt calls: this PySide6 "
            "release leaks None's refcount and will abort the interpreter"
        )
    widget.deleteLater()
