"""Package list for setuptools: the top-level folders connectors/ and campaigns/ install as
``vwfund.connectors`` and ``vwfund.campaigns`` (metadata lives in pyproject.toml)."""

from setuptools import find_packages, setup

MAPPED = {"vwfund.connectors": "connectors", "vwfund.campaigns": "campaigns"}

packages = find_packages(include=["vwfund", "vwfund.*"])
package_dir = {"vwfund": "vwfund"}
for name, folder in MAPPED.items():
    packages.append(name)
    packages.extend(f"{name}.{sub}" for sub in find_packages(where=folder))
    package_dir[name] = folder

setup(packages=packages, package_dir=package_dir)
