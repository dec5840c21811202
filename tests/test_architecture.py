"""The core is reachable without the TUI (importing it must not pull in Textual), the packages and the UI's
layers depend one way only (pyproject.toml's import-linter contracts), and no module imports itself round a
circle."""

import subprocess
import sys


def test_core_and_sandbox_do_not_import_textual():
    code = (
        "import sys, pkgutil, importlib, calle_tui.core, calle_tui.sandbox\n"
        "for pkg in (calle_tui.core, calle_tui.sandbox):\n"
        "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "        importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n == 'textual' or n.startswith('textual.'))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cli_help_is_fast_to_import():
    # `calle-tui --help` must not import the mcp SDK or Textual (first paint and scripts stay quick).
    code = (
        "import sys; from calle_tui.commands import cli; cli.build_parser()\n"
        "assert 'mcp' not in sys.modules and 'textual' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_import_linter_contracts_hold():
    # pyproject.toml's contracts: the core and the sandbox never import Textual or the UI, the core never the
    # commands; commands over UI and sandbox over core; the UI's layers from the launcher down.
    from pathlib import Path

    import importlinter.cli

    config = str(Path(__file__).resolve().parents[1] / "pyproject.toml")
    assert importlinter.cli.lint_imports(config_filename=config, no_cache=True) == importlinter.cli.EXIT_STATUS_SUCCESS


def test_no_module_of_calle_tui_imports_itself_round_a_circle():
    """A cycle of imports makes the import order matter (a name missing half-way through an import) and
    the modules one unit. Imports made only for type checking are left out: they never run. The packages'
    contracts above hold those too."""
    import grimp

    graph = grimp.build_graph("calle_tui", exclude_type_checking_imports=True, cache_dir=None)
    ours = {m: {i for i in graph.find_modules_directly_imported_by(m) if i.startswith("calle_tui")} for m in graph.modules}
    circles = []
    for module in sorted(ours):
        for imported in sorted(ours[module]):
            if graph.chain_exists(importer=imported, imported=module):
                circles.append(" -> ".join([module, *graph.find_shortest_chain(importer=imported, imported=module)]))
    assert not circles, "\n".join(circles)
