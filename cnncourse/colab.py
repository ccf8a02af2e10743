"""One-click Colab: the "Open in Colab" badge and the setup cell of every notebook.

The repository's address is written here, once (:data:`REPOSITORY`, :data:`BRANCH`).
Every notebook starts with two cells made from it:

1. a markdown cell with the badge, pointing at that very notebook on GitHub;
2. a code cell that, only on Colab, installs this package from the same repository.

Commands (run from the repository's root)::

    python -m cnncourse.colab sync [notebooks/]             # (re)write badge and setup cells
    python -m cnncourse.colab repoint OWNER/REPO [--branch B] [notebooks/]   # for a fork

``sync`` changes nothing but those two cells; ``repoint`` also rewrites the
address in this file.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

REPOSITORY = "cnncourse/cnncourse"
BRANCH = "main"

BADGE_MARK = "colab-badge.svg"
SETUP_MARK = "# cnncourse setup cell"
_REPO_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


def badge_url(notebook_path, repository=None, branch=None):
    """Colab's address for ``notebook_path`` (relative to the repository's root)."""
    path = Path(notebook_path).as_posix()
    return (f"https://colab.research.google.com/github/{repository or REPOSITORY}"
            f"/blob/{branch or BRANCH}/{path}")


def badge_source(notebook_path, repository=None, branch=None):
    return (f"[![Open In Colab](https://colab.research.google.com/assets/{BADGE_MARK})]"
            f"({badge_url(notebook_path, repository, branch)})")


def setup_source(repository=None, branch=None):
    url = f"git+https://github.com/{repository or REPOSITORY}@{branch or BRANCH}"
    return f'''{SETUP_MARK}: on Colab, install the course package; locally, nothing to do.
import sys, subprocess
if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "cnncourse @ {url}"], check=True)
    print("Colab: installed cnncourse from {repository or REPOSITORY} ({branch or BRANCH}).")
else:
    print("Not on Colab: nothing to install (pip install -r requirements.txt did it).")'''


def check_repository(repository):
    if not isinstance(repository, str) or not _REPO_RE.match(repository):
        raise ValueError(f"repository must look like OWNER/NAME (e.g. alice/cnncourse), got {repository!r}")
    return repository


def sync_notebook(path, root, repository=None, branch=None):
    """Write the badge and setup cells of one notebook; True if the file changed."""
    import nbformat

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    rel = path.resolve().relative_to(Path(root).resolve())
    badge = badge_source(rel, repository, branch)
    setup = setup_source(repository, branch)
    cells = nb.cells
    changed = False
    if cells and cells[0].cell_type == "markdown" and BADGE_MARK in cells[0].source:
        if cells[0].source != badge:
            cells[0].source, changed = badge, True
    else:
        cells.insert(0, nbformat.v4.new_markdown_cell(badge))
        changed = True
    if len(cells) > 1 and cells[1].cell_type == "code" and cells[1].source.startswith(SETUP_MARK):
        if cells[1].source != setup:
            cells[1].source, changed = setup, True
    else:
        cell = nbformat.v4.new_code_cell(setup)
        cells.insert(1, cell)
        changed = True
    if changed:
        nbformat.write(nb, path)
    return changed


def notebooks_in(folder):
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"folder {str(folder)!r} does not exist")
    return sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))


def _rewrite_address(repository, branch):
    here = Path(__file__)
    text = here.read_text()
    text = re.sub(r'^REPOSITORY = ".*"$', f'REPOSITORY = "{repository}"', text, count=1, flags=re.M)
    text = re.sub(r'^BRANCH = ".*"$', f'BRANCH = "{branch}"', text, count=1, flags=re.M)
    here.write_text(text)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m cnncourse.colab", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_sync = sub.add_parser("sync", help="(re)write every notebook's badge and setup cell")
    p_sync.add_argument("folder", nargs="?", default="notebooks")
    p_re = sub.add_parser("repoint", help="point every badge and setup cell at another repository")
    p_re.add_argument("repository", help="OWNER/NAME on GitHub")
    p_re.add_argument("--branch", default="main")
    p_re.add_argument("folder", nargs="?", default="notebooks")
    args = parser.parse_args(argv)
    repository, branch = REPOSITORY, BRANCH
    if args.command == "repoint":
        try:
            repository = check_repository(args.repository)
        except ValueError as exc:
            parser.error(str(exc))
        branch = args.branch
    try:
        paths = notebooks_in(args.folder)
    except FileNotFoundError as exc:
        parser.error(str(exc))
    root = Path(args.folder).resolve().parent
    if args.command == "repoint":
        _rewrite_address(repository, branch)
    for path in paths:
        changed = sync_notebook(path, root, repository, branch)
        print(f"{'updated ' if changed else 'unchanged'} {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
