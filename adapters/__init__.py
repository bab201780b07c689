"""Bridges from segmenter to other libraries.

This folder ships inside the ``segmenter-ts`` distribution as the sub-package
``segmenter.adapters`` (see ``[tool.setuptools.package-dir]`` in pyproject.toml), so it
never clashes with the unrelated ``adapters`` distribution on PyPI.  Import it as::

    from segmenter.adapters import tslearn_bridge

Each bridge imports its library only when used and says which extra to install when it
is missing.
"""
