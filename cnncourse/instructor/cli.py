"""The command line: ``python -m cnncourse.instructor release|grade|check ...`` (see the package's docstring)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cnncourse.instructor.grading import format_report, grade
from cnncourse.instructor.markers import SolutionMarkerError
from cnncourse.instructor.notebooks import notebook_paths, read_notebook
from cnncourse.instructor.releasing import release
from cnncourse.instructor.solving import solve
from cnncourse.instructor.structure import check_notebook


def _write(written, out, things, done, kind):
    for target, n in written:
        print(f"wrote {target}  ({n} {things if n != 1 else things[:-1]} {done})")
    print(f"{len(written)} {kind} notebook(s) in {out}")
    return 0


def _cmd_release(args):
    return _write(release(args.source, args.out), args.out, "solution regions", "removed", "student")


def _cmd_solve(args):
    return _write(solve(args.source, args.out), args.out, "answer cells", "solved", "solved")


def _cmd_grade(args):
    json_path = args.json
    if json_path and json_path != "-" and Path(json_path).exists():
        raise FileExistsError(f"--json {json_path!r} already exists; grading never overwrites a file: "
                              "give a new file name")
    for path in args.notebooks:            # every file checked before the first is run
        if Path(path).suffix != ".ipynb":
            raise ValueError(f"path must be a Jupyter notebook (.ipynb), got {path!r}")
        read_notebook(path)
    reports = [grade(p, timeout=args.timeout, total_timeout=args.total_timeout) for p in args.notebooks]
    payload = reports[0] if len(reports) == 1 else reports
    if json_path == "-":
        print(json.dumps(payload, indent=2))
    else:
        print("\n\n".join(format_report(r) for r in reports))
        if json_path:
            with open(json_path, "x", encoding="utf-8") as handle:
                json.dump(payload, handle, indent=2)
            print(f"JSON report written to {json_path}")
    return 0


def _cmd_check(args):
    bad = 0
    paths = notebook_paths(args.folder)
    for path in paths:
        problems = check_notebook(read_notebook(path), Path(path.parent.name) / path.name)
        print(f"{'ok  ' if not problems else 'FAIL'} {path}")
        for problem in problems:
            print(f"       {problem}")
        bad += bool(problems)
    print(f"{len(paths) - bad}/{len(paths)} notebook(s) pass the structure checks")
    return 1 if bad else 0


def main(argv=None):
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); the exit status (2 on a refusal)."""
    parser = argparse.ArgumentParser(
        prog="python -m cnncourse.instructor",
        description="Solve or release notebooks, grade submissions, check notebooks.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  python -m cnncourse.instructor solve notebooks/ solved/\n"
               "  python -m cnncourse.instructor release solved/ student/\n"
               "  python -m cnncourse.instructor grade submitted/05_lenet5.ipynb --json 05_alice.json\n"
               "  python -m cnncourse.instructor grade submitted/*.ipynb --timeout 60 --json -\n"
               "  python -m cnncourse.instructor check notebooks/")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("solve", help="write solved copies (each answer cell filled with its exercise's solution, "
                                     "between nbgrader's markers)")
    p.add_argument("source", help="a folder of student notebooks as the course ships them (or one .ipynb)")
    p.add_argument("out", help="a new or empty folder for the solved copies")
    p.set_defaults(run=_cmd_solve)
    p = sub.add_parser("release", help="write student copies (solutions removed, outputs cleared)")
    p.add_argument("source", help="a folder of notebooks (or one .ipynb)")
    p.add_argument("out", help="a new or empty folder for the student copies")
    p.set_defaults(run=_cmd_release)
    p = sub.add_parser("grade", help="run submitted notebook(s) in fast mode and score the exercises")
    p.add_argument("notebooks", nargs="+", help="submitted .ipynb file(s)")
    p.add_argument("--timeout", type=float, default=120, help="seconds one cell may run (default 120)")
    p.add_argument("--total-timeout", type=float, default=900, help="seconds for a whole notebook (default 900)")
    p.add_argument("--json", metavar="PATH", help="also write the report as JSON to PATH (a new file), or '-' "
                                                  "to print only JSON")
    p.set_defaults(run=_cmd_grade)
    p = sub.add_parser("check", help="structure checks of committed notebooks (nothing is run)")
    p.add_argument("folder", nargs="?", default="notebooks")
    p.set_defaults(run=_cmd_check)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (FileNotFoundError, FileExistsError, SolutionMarkerError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
