"""Run the code blocks of a documentation guide, so the guides cannot drift from the code.

Rules (``docs/guides/*.md``):

* ```` ```python ```` blocks run in order, in one namespace per page, in the page's working
  directory (a figure saved as ``img/NAME.png`` lands in that directory's ``img/``).
* ```` ```bash ```` blocks whose every command line starts with ``policyopt`` run each command
  as a subprocess with this virtual environment's ``policyopt`` (a trailing ``\\`` continues a
  line; ``#`` starts a comment). A bash block with any other command must be excluded.
* ```` ```yaml ```` (or any) block right after ``<!-- file: NAME -->`` is written to ``NAME``
  in the working directory before the blocks after it run (a sweep spec, say).
* A block is excluded only by an HTML comment on the line right before its fence,
  ``<!-- no-run: REASON -->``; the reason must not be empty (``tests/test_docs.py`` checks).
  Other languages (``text``, ``json``, ``console``) are output or data and never run.

The working directory holds symbolic links ``benchmarks``, ``docs`` and ``examples`` to the
repository's,
so a guide reads ``benchmarks/results/*.json`` as a reader in a checkout would.

``python tests/docs_snippets.py --figures [PAGE ...]`` runs the pages (default: every guide)
with ``img/`` linked to ``docs/guides/img/``: the figures the site shows are the ones the
guides' own code writes (``make docs-figures``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GUIDES = ROOT / "docs" / "guides"
IMG = GUIDES / "img"
LINKED = ("benchmarks", "docs", "examples")  # repository folders a guide reads (never writes)

FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,})(?P<lang>[\w+-]*)\s*$")
NO_RUN = re.compile(r"^\s*<!--\s*no-run\s*(?::\s*(?P<reason>.*?))?\s*-->\s*$")
FILE = re.compile(r"^\s*<!--\s*file:\s*(?P<name>\S+)\s*-->\s*$")
IMAGE = re.compile(r"!\[[^\]]*\]\((?P<path>img/[^)\s]+)\)")


@dataclass
class Block:
    """One fenced code block of a page."""

    page: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    no_run: str | None = None  # the reason, when excluded ("" if the comment has none)
    file: str | None = None  # write the block to this file instead of running it

    @property
    def where(self) -> str:
        page = self.page.relative_to(ROOT) if self.page.is_relative_to(ROOT) else self.page
        return f"{page}:{self.line}"

    def commands(self) -> list[str]:
        """The command lines of a bash block (continuations joined, comments dropped)."""
        joined, out = "", []
        for raw in self.code.splitlines():
            line = raw.rstrip()
            if line.endswith("\\"):
                joined += line[:-1] + " "
                continue
            line = (joined + line).strip()
            joined = ""
            if line and not line.startswith("#"):
                out.append(line)
        return out

    @property
    def runs(self) -> bool:
        """Whether the block is run (python, policyopt-only bash) or written (file)."""
        if self.no_run is not None:
            return False
        if self.file is not None:
            return True
        if self.lang == "python":
            return True
        commands = self.commands()
        return (
            self.lang == "bash"
            and bool(commands)
            and all(c.startswith("policyopt ") for c in commands)
        )

    def problems(self) -> list[str]:
        """What is wrong with how the block is marked (empty when nothing is)."""
        out = []
        if self.no_run is not None and not self.no_run.strip():
            out.append(f"{self.where}: <!-- no-run: REASON --> needs a reason")
        if self.no_run is None and self.lang in ("bash", "sh", "shell") and self.file is None:
            others = [c for c in self.commands() if not c.startswith("policyopt ")]
            if others:
                out.append(
                    f"{self.where}: bash block runs {others[0]!r}, not policyopt; mark it "
                    "<!-- no-run: REASON --> or make it policyopt commands only"
                )
        return out


def extract(page: Path) -> list[Block]:
    """Every fenced block of ``page`` with its marks (no-run reason, file name)."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, lang = m["indent"], m["fence"], m["lang"]
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines) and lines[i].strip() != fence:
            text = lines[i]
            body.append(text[len(indent) :] if text.startswith(indent) else text.lstrip())
            i += 1
        if i == len(lines):
            raise ValueError(f"{page}:{start + 1}: code fence never closed")
        prev = lines[start - 1] if start > 0 else ""
        no_run = NO_RUN.match(prev)
        file = FILE.match(prev)
        blocks.append(
            Block(
                page=page,
                line=start + 1,
                lang=lang,
                code="\n".join(body) + "\n",
                no_run=(no_run["reason"] or "") if no_run else None,
                file=file["name"] if file else None,
            )
        )
        i += 1
    return blocks


def referenced_images(page: Path) -> list[str]:
    """``img/NAME.png`` paths the page shows (relative to the page)."""
    return sorted(set(IMAGE.findall(page.read_text(encoding="utf-8"))))


def policyopt_executable() -> str:
    """This environment's ``policyopt`` console script."""
    exe = Path(sys.executable).parent / "policyopt"
    return str(exe) if exe.exists() else (shutil.which("policyopt") or "policyopt")


@dataclass
class PageRun:
    """What running a page did: seconds per block, in order."""

    page: Path
    seconds: list[tuple[str, float]] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(s for _, s in self.seconds)


@contextlib.contextmanager
def _cwd(path: Path) -> Iterator[None]:
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def prepare_workdir(workdir: Path, figures: bool = False) -> None:
    """Link the repository folders a guide reads; make ``img/`` (the committed one if
    ``figures``)."""
    workdir.mkdir(parents=True, exist_ok=True)
    for name in LINKED:
        link = workdir / name
        if not link.exists():
            link.symlink_to(ROOT / name, target_is_directory=True)
    img = workdir / "img"
    if figures:
        IMG.mkdir(parents=True, exist_ok=True)
        if img.is_symlink() or img.exists():
            return
        img.symlink_to(IMG, target_is_directory=True)
    else:
        img.mkdir(exist_ok=True)


def run_page(page: Path, workdir: Path, figures: bool = False, log: bool = False) -> PageRun:
    """Run ``page``'s blocks in ``workdir``; raise with the block's location on a failure."""
    prepare_workdir(workdir, figures)
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    namespace: dict[str, object] = {"__name__": "__docs__"}
    result = PageRun(page)
    exe = policyopt_executable()
    with _cwd(workdir):
        for block in extract(page):
            if not block.runs:
                continue
            t0 = time.perf_counter()
            if block.file is not None:
                Path(block.file).write_text(block.code, encoding="utf-8")
            elif block.lang == "python":
                code = compile(block.code, f"<{block.where}>", "exec")
                try:
                    exec(code, namespace)
                except Exception as err:
                    raise AssertionError(_located(block, err)) from err
            else:
                for command in block.commands():
                    argv = [exe, *shlex.split(command, comments=True)[1:]]
                    proc = subprocess.run(argv, env=env, capture_output=True, text=True)
                    if proc.returncode != 0:
                        tail = (proc.stdout + proc.stderr)[-3000:]
                        raise AssertionError(
                            f"{block.where}: `{command}` exited {proc.returncode}:\n{tail}"
                        )
            seconds = time.perf_counter() - t0
            result.seconds.append((block.where, seconds))
            if log:
                print(f"  {block.where} {block.lang}: {seconds:.1f} s", flush=True)
    with contextlib.suppress(Exception):
        import matplotlib.pyplot as plt

        plt.close("all")
    return result


def _located(block: Block, err: BaseException) -> str:
    """The page line and source of the innermost frame of ``block`` in ``err``'s traceback."""
    frames = [
        f for f in traceback.extract_tb(err.__traceback__) if f.filename == f"<{block.where}>"
    ]
    if not frames or frames[-1].lineno is None:
        return f"{block.where}: python block failed: {err!r}"
    lineno = frames[-1].lineno
    source = block.code.splitlines()[lineno - 1].strip()
    line = block.line + lineno  # the fence is line block.line, the code starts after it
    page = block.where.rsplit(":", 1)[0]
    return f"{page}:{line}: {type(err).__name__}: {err} (in `{source}`)"


def guide_pages() -> list[Path]:
    return sorted(GUIDES.glob("*.md"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pages", nargs="*", type=Path, help="guide pages (default: all)")
    parser.add_argument(
        "--figures", action="store_true", help="write figures into docs/guides/img/"
    )
    args = parser.parse_args(argv)
    pages = [p.resolve() for p in args.pages] or guide_pages()
    for page in pages:
        print(f"{page.relative_to(ROOT)}", flush=True)
        start = time.time()
        with tempfile.TemporaryDirectory(prefix="policyopt-docs-") as tmp:
            run = run_page(page, Path(tmp), figures=args.figures, log=True)
            missing = [
                p
                for p in referenced_images(page)
                if not (Path(tmp) / p).exists() or (Path(tmp) / p).stat().st_mtime < start - 1
            ]
        print(f"  {run.total:.1f} s", flush=True)
        if missing:
            print(f"  not written by the page's code: {', '.join(missing)}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
