"""The one thing pyproject.toml cannot say: a package list that includes ``wizard.resources``.

``[tool.setuptools.packages.find]`` finds only folders under ``wizard/``, and the resources
live at the top of the repo (``resources/``, mapped to ``wizard/resources`` by ``package-dir``
in pyproject.toml). Everything else about the build is in pyproject.toml.
"""

from setuptools import find_packages, setup

RESOURCES = ["wizard.resources", "wizard.resources.icons", "wizard.resources.translations"]

setup(packages=[*find_packages(include=["wizard", "wizard.*"]), *RESOURCES])
