"""The documentation site: every guide's code runs, the site builds strictly, the reference
covers every public name, the tables match the code, and the pages render with their images.

Each guide page (``docs/guides/*.md`` and the home page) is one test: its ``python`` blocks run
in order in one namespace and its ``policyopt`` commands as subprocesses, in a temporary
working directory (``tests/docs_snippets.py`` has the rules). All pages together take about
two minutes on 2 cores; the compiled-level training in them is ≤ 20k steps on CartPole-v1.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import docs_snippets as snippets

ROOT = snippets.ROOT
DOCS = ROOT / "docs"
PAGES = [DOCS / "index.md", *snippets.guide_pages()]
MKDOCS = Path(sys.executable).parent / "mkdocs"
CHROMIUM = Path("/usr/bin/chromium")


def _id(page: Path) -> str:
    return page.relative_to(DOCS).as_posix()


# --------------------------------------------------------------------------- guide code


def test_every_guide_is_in_the_nav_and_tested() -> None:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for page in snippets.guide_pages():
        assert f"guides/{page.name}" in nav, f"{page.name} is not in mkdocs.yml's nav"
    assert len(snippets.guide_pages()) >= 8


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_excluded_blocks_say_why_and_bash_blocks_run_only_policyopt(page: Path) -> None:
    blocks = snippets.extract(page)
    problems = [p for b in blocks for p in b.problems()]
    assert not problems, "\n".join(problems)
    for block in blocks:
        if block.no_run is not None:
            assert block.no_run.strip(), f"{block.where}: no-run without a reason"


def test_the_block_extractor_follows_its_rules(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "text\n"
        "```python\nx = 1\n```\n"
        "<!-- no-run: too slow -->\n```bash\npolicyopt train ppo LunarLander-v3\n```\n"
        "<!-- no-run -->\n```python\nboom()\n```\n"
        "```bash\nmake docs\n```\n"
        "<!-- file: spec.yaml -->\n```yaml\nname: x\n```\n"
        "```bash\npolicyopt tabular \\\n  --mdp chain  # comment\n```\n"
        "```text\nnot code\n```\n",
        encoding="utf-8",
    )
    b = snippets.extract(page)
    assert [x.lang for x in b] == ["python", "bash", "python", "bash", "yaml", "bash", "text"]
    assert [x.runs for x in b] == [True, False, False, False, True, True, False]
    assert b[1].no_run == "too slow" and b[2].no_run == "" and b[4].file == "spec.yaml"
    assert b[5].commands() == ["policyopt tabular    --mdp chain  # comment"]
    assert [len(x.problems()) for x in b] == [0, 0, 1, 1, 0, 0, 0]
    assert b[0].line == 2


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_guide_code_runs_and_writes_the_figures_it_shows(page: Path, tmp_path: Path) -> None:
    """Run the page's blocks; every ``img/*.png`` the page shows must be written by them and
    be committed under ``docs/guides/img/`` (``make docs-figures`` regenerates them)."""
    run = snippets.run_page(page, tmp_path)
    print(f"{_id(page)}: {run.total:.1f} s", *(f"{w} {s:.1f} s" for w, s in run.seconds))
    for image in snippets.referenced_images(page):
        assert (tmp_path / image).is_file(), f"{_id(page)} shows {image} but its code wrote none"
        committed = page.parent / image
        assert committed.is_file(), f"{committed} is not committed: run make docs-figures"


def test_every_committed_guide_figure_is_shown_by_a_guide() -> None:
    shown = {Path(i).name for p in snippets.guide_pages() for i in snippets.referenced_images(p)}
    committed = {p.name for p in snippets.IMG.glob("*.png")}
    assert committed <= shown, f"stale figures in docs/guides/img: {sorted(committed - shown)}"


# --------------------------------------------------------------------------- tables


def _table_column(page: Path, heading: str) -> list[str]:
    """The backticked names in the first column of the table after ``heading``."""
    text = page.read_text(encoding="utf-8").split(heading, 1)[1]
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    table = []
    for line in rows:
        first = line.split("|")[1]
        table += re.findall(r"`([a-z_]+/[a-z_]+)`", first)
    return table


def test_the_metric_table_lists_exactly_the_metrics_the_recipes_report() -> None:
    """The metric table of the SB3 guide against every recipe's compiled metrics (traced with
    ``jax.eval_shape``, nothing trains) and the host level's."""
    import jax

    import policyopt
    from policyopt.solvers.kfac import kfac_available

    reported: set[str] = set()
    for name in policyopt.CONFIGS:
        if name == "composed" or (name == "acktr" and not kfac_available()):
            continue
        cfg = policyopt.make_config(name, total_timesteps=1024, num_envs=8, num_steps=128)
        shapes = jax.eval_shape(policyopt.make_train(cfg), jax.random.PRNGKey(0))
        reported |= set(shapes.metrics)
    table = set(_table_column(DOCS / "guides" / "from-sb3.md", "## The metric table"))
    assert reported - table == set(), f"reported but not in the table: {reported - table}"
    assert table - reported == set(), f"in the table but never reported: {table - reported}"


def test_every_config_field_is_documented_in_its_class_or_a_base() -> None:
    """``Attributes:`` sections cover every field of every deep config (the API reference
    shows them with their defaults)."""
    import policyopt

    for cls in policyopt.CONFIGS.values():
        docs = "\n".join((c.__doc__ or "") for c in cls.__mro__)
        missing = [f.name for f in dataclasses.fields(cls) if not re.search(rf"\b{f.name}\b", docs)]
        assert not missing, f"{cls.__name__}: fields without a description: {missing}"


# --------------------------------------------------------------------------- the site


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built once with ``mkdocs build --strict`` (warnings are errors)."""
    if not MKDOCS.exists():
        pytest.skip("mkdocs is not installed (pip install -e '.[docs]')")
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    proc = subprocess.run(
        [str(MKDOCS), "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def test_the_site_builds_strictly(site: Path) -> None:
    for page in ("index.html", "api/policyopt/index.html", "guides/paper-in-code/index.html"):
        assert (site / page).is_file()


def test_the_api_reference_documents_every_public_name(site: Path) -> None:
    import policyopt
    from policyopt import tabular

    curated = (site / "api/policyopt/index.html").read_text(encoding="utf-8")
    for name in policyopt.__all__:
        if name != "__version__":
            assert f">{name}</code></a>" in curated, f"policyopt.{name} has no link"
    html = (site / "api/tabular/index.html").read_text(encoding="utf-8")
    for name in tabular.__all__:
        # run is also the name of its module (policyopt/tabular/run.py): documented by full path
        anchor = "policyopt.tabular.run.run" if name == "run" else f"policyopt.tabular.{name}"
        assert f'id="{anchor}"' in html, f"policyopt.tabular.{name} missing"
    configs = (site / "api/configs/index.html").read_text(encoding="utf-8")
    for cls in policyopt.CONFIGS.values():
        for f in dataclasses.fields(cls):
            anchor = f'id="policyopt.configs.{cls.__name__}.{f.name}"'
            assert anchor in configs, f"{cls.__name__}.{f.name} is not in the reference"
    composition = (site / "api/composition/index.html").read_text(encoding="utf-8")
    from policyopt import composition as c

    for registry in (c.SURROGATES, c.PROXIMITIES, c.COEFFICIENTS, c.SOLVERS):
        for block in registry:
            assert f"<code>{block}</code>" in composition


def _screenshots_available() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (pip install -e '.[docs]')"
    return None


@pytest.mark.skipif(_screenshots_available() is not None, reason=str(_screenshots_available()))
def test_the_site_renders_with_its_images_in_headless_chromium(site: Path, tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import docs_screenshots
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    shots = docs_screenshots.screenshot_site(site, tmp_path)
    assert sorted(shots) == ["api", "guide", "home"]
    for name, report in shots.items():
        assert not report.broken, (name, report)
        assert report.path.stat().st_size > 10_000
    assert shots["home"].images >= 2 and shots["guide"].images >= 8


def test_make_builds_the_docs_strictly_in_ci() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for target in ("docs", "docs-serve", "docs-figures"):
        assert re.search(rf"^{target}: \$\(STAMP\)", makefile, re.MULTILINE), target
    test_recipe = makefile.split("\ntest: ", 1)[1].split("\n\n", 1)[0]
    assert "mkdocs build --strict" in test_recipe or "$(MAKE) docs" in test_recipe
