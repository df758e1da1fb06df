"""What the documentation site (``mkdocs.yml``, ``docs/``) generates rather than copies.

* :mod:`grasp_bench.docsgen.results`: the results pages, written from
  ``results/reference/**/summary.csv`` and ``meta.json`` by ``make results-docs`` and
  committed (``tests/test_docs_results.py`` fails when they are stale);
* :mod:`grasp_bench.docsgen.pages`: what is filled in while the site builds (every
  planner's config fields from the planner registry, the recipes, the shipped checkpoints
  from their manifests, the CLI reference from the Typer app), through the MkDocs hook
  :mod:`grasp_bench.docsgen.hooks`;
* :mod:`grasp_bench.docsgen.cli`: the command line's click object.

Nothing in the package imports this one.
"""
