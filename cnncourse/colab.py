"""One-click Colab: the "Open in Colab" badge and the setup cell of every notebook.

The repository's address is configuration, written once in the package-data file
``cnncourse/colab.json`` (``{"repository": "OWNER/NAME", "branch": "main"}``) and read into
:data:`REPOSITORY` and :data:`BRANCH` when this module is imported. Every notebook starts
with two cells made from it:

1. a markdown cell with the badge, pointing at that very notebook on GitHub;
2. a code cell that, only on Colab, installs this package from the same repository
   (on any other machine it installs nothing and says so).

Commands (run from the repository's root)::

    python -m cnncourse.colab sync [notebooks/]             # (re)write badge and setup cells
    python -m cnncourse.colab repoint OWNER/REPO [--branch B] [notebooks/]   # for a fork

``sync`` changes nothing but those two cells (their outputs are left as they are);
``repoint`` also rewrites ``colab.json`` (never a Python source file), so that a later
``sync`` and every new notebook keep pointing at the fork.

Example
-------
>>> badge_url("notebooks/02_convolution.ipynb", "alice/cnncourse", "main")
'https://colab.research.google.com/github/alice/cnncourse/blob/main/notebooks/02_convolution.ipynb'
>>> check_repository("https://github.com/alice/cnncourse.git")
'alice/cnncourse'
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

#: The configuration file holding the address; ``repoint`` rewrites it (tests point it elsewhere).
ADDRESS_FILE = Path(__file__).with_name("colab.json")


def read_address(address_file=None):
    """``(repository, branch)`` as written in the address file (:data:`ADDRESS_FILE`)."""
    here = Path(address_file or ADDRESS_FILE)
    try:
        config = json.loads(here.read_text(encoding="utf-8"))
        return config["repository"], config["branch"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RuntimeError(f"{here} must hold {{\"repository\": \"OWNER/NAME\", \"branch\": \"...\"}} "
                           f"({exc})") from exc


REPOSITORY, BRANCH = read_address()

BADGE_MARK = "colab-badge.svg"
SETUP_MARK = "# cnncourse setup cell"
NOT_ON_COLAB = "Not on Colab: nothing to install (pip install -r requirements.txt did it)."

# GitHub's rules: an owner is letters, digits and single hyphens (not at either end);
# a repository name is letters, digits, '.', '_' and '-' (but not '.' or '..').
_OWNER_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
_NAME_RE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
# A git branch name that is safe inside a URL and a Python string literal.
_BRANCH_RE = re.compile(r"^(?!/)(?!.*//)(?!.*\.\.)[A-Za-z0-9._/-]{1,200}(?<![/.])$")
_URL_PREFIX = re.compile(r"^(?:https?://)?(?:www\.)?github\.com/", re.I)


def check_repository(repository):
    """``OWNER/NAME`` for a GitHub repository, refused when it cannot be one.

    A full address (``https://github.com/OWNER/NAME(.git)``) is accepted and shortened.

    Raises
    ------
    TypeError
        When ``repository`` is not a string.
    ValueError
        When it is not an address; either names ``repository`` and the form allowed.
    """
    message = ("repository must be a GitHub repository written OWNER/NAME (e.g. alice/cnncourse) "
               f"or https://github.com/OWNER/NAME, got {repository!r}")
    if not isinstance(repository, str):
        raise TypeError(message)
    text = _URL_PREFIX.sub("", repository.strip()).rstrip("/")
    if text.endswith(".git"):
        text = text[:-4]
    owner, _, name = text.partition("/")
    if (_OWNER_RE.match(owner) and _NAME_RE.match(name) and name not in (".", "..")):
        return f"{owner}/{name}"
    raise ValueError(message)


def check_branch(branch):
    """``branch`` if it is a plausible git branch name (letters, digits, ``. _ - /``), else
    TypeError (not a string) or ValueError."""
    message = ("branch must be a git branch name made of letters, digits, '.', '_', '-' and '/' "
               f"(e.g. main), got {branch!r}")
    if not isinstance(branch, str):
        raise TypeError(message)
    if _BRANCH_RE.match(branch):
        return branch
    raise ValueError(message)


def badge_url(notebook_path, repository=None, branch=None):
    """Colab's address for ``notebook_path`` (relative to the repository's root)."""
    path = Path(notebook_path).as_posix()
    return (f"https://colab.research.google.com/github/{repository or REPOSITORY}"
            f"/blob/{branch or BRANCH}/{path}")


def badge_source(notebook_path, repository=None, branch=None):
    """The markdown of cell 0: the "Open in Colab" badge linking to ``notebook_path``."""
    return (f"[![Open In Colab](https://colab.research.google.com/assets/{BADGE_MARK})]"
            f"({badge_url(notebook_path, repository, branch)})")


def install_url(repository=None, branch=None):
    """What pip installs on Colab: ``git+https://github.com/OWNER/NAME@BRANCH``."""
    return f"git+https://github.com/{repository or REPOSITORY}@{branch or BRANCH}"


def setup_source(repository=None, branch=None):
    """The source of cell 1, the setup cell.

    On Colab it installs the course package from the repository (``pip install``), then
    says whether the runtime has a GPU (full mode wants one) and how to switch to fast
    mode. Anywhere else it prints :data:`NOT_ON_COLAB` and does nothing else.
    """
    repository, branch = repository or REPOSITORY, branch or BRANCH
    return f'''{SETUP_MARK}: on Colab, install the course package; locally, nothing to do.
import sys, subprocess
if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "cnncourse @ {install_url(repository, branch)}"], check=True)
    import importlib, shutil
    importlib.invalidate_caches()
    print("Colab: installed cnncourse from {repository} ({branch}).")
    if shutil.which("nvidia-smi") is None:
        print("No GPU in this runtime. Full mode wants one: Runtime > Change runtime type > GPU.\\n"
              "For a quick run instead: import os; os.environ['CNNCOURSE_FAST'] = '1'")
else:
    print("{NOT_ON_COLAB}")'''


def sync_notebook(path, root, repository=None, branch=None):
    """Write the badge and setup cells of one notebook; True if the file changed.

    ``path`` is the notebook, ``root`` the repository's root (the badge links to
    ``path`` relative to it). Cell 0 becomes the badge and cell 1 the setup cell; when
    they are missing they are inserted, when present only their source is replaced.
    """
    import nbformat

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    try:
        rel = path.resolve().relative_to(Path(root).resolve())
    except ValueError:
        raise ValueError(f"root {str(root)!r} must be a folder holding the notebook {str(path)!r}") from None
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
    """The ``*.ipynb`` files directly in ``folder``, sorted (hidden files left out)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"folder {str(folder)!r} does not exist")
    return sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))


def write_address(repository, branch, address_file=None):
    """Write ``repository`` and ``branch`` (checked) into the address file."""
    repository, branch = check_repository(repository), check_branch(branch)
    here = Path(address_file or ADDRESS_FILE)
    here.write_text(json.dumps({"repository": repository, "branch": branch}, indent=2) + "\n",
                    encoding="utf-8")


def repoint(repository, branch="main", folder="notebooks", address_file=None):
    """Point the address file and every notebook in ``folder`` at ``repository``/``branch``.

    Returns ``[(path, changed), ...]``. Validates everything before writing anything.
    """
    global REPOSITORY, BRANCH
    repository, branch = check_repository(repository), check_branch(branch)
    paths = notebooks_in(folder)
    root = Path(folder).resolve().parent
    write_address(repository, branch, address_file)
    REPOSITORY, BRANCH = repository, branch
    return [(p, sync_notebook(p, root, repository, branch)) for p in paths]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m cnncourse.colab", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_sync = sub.add_parser("sync", help="(re)write every notebook's badge and setup cell")
    p_sync.add_argument("folder", nargs="?", default="notebooks")
    p_re = sub.add_parser("repoint", help="point every badge and setup cell at another repository")
    p_re.add_argument("repository", help="OWNER/NAME on GitHub")
    p_re.add_argument("--branch", default="main")
    p_re.add_argument("folder", nargs="?", default=None, help="default: notebooks")
    args, extra = parser.parse_known_args(argv)
    # `repoint OWNER/REPO --branch B notebooks/`: argparse leaves a folder given after an option over
    if args.command == "repoint" and args.folder is None and len(extra) == 1 and not extra[0].startswith("-"):
        args.folder, extra = extra[0], []
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.folder is None:
        args.folder = "notebooks"
    try:
        if args.command == "repoint":
            results = repoint(args.repository, args.branch, args.folder)
            print(f"Address is now {REPOSITORY} ({BRANCH}), written in {ADDRESS_FILE.name}.")
        else:
            root = Path(args.folder).resolve().parent
            results = [(p, sync_notebook(p, root)) for p in notebooks_in(args.folder)]
    except (ValueError, FileNotFoundError) as exc:
        parser.error(str(exc))
    for path, changed in results:
        print(f"{'updated  ' if changed else 'unchanged'} {path}")
    if not results:
        print(f"no notebooks in {args.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
