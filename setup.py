"""Map the top-level folders onto the ``tick2trade`` import names.

``proto/`` → ``tick2trade.proto``, ``hdl/`` → ``tick2trade.hdl``, ``host/`` →
``tick2trade.host``, ``sim/`` → ``tick2trade.sim`` (DESIGN.md, repository
layout). Nothing is installed under a generic top-level name.
"""

from setuptools import find_packages, setup

ROOTS = {"proto": "tick2trade.proto", "hdl": "tick2trade.hdl",
         "host": "tick2trade.host", "sim": "tick2trade.sim"}

package_dir = {"tick2trade": "tick2trade"}
packages = ["tick2trade"]
for folder, name in ROOTS.items():
    package_dir[name] = folder
    packages.append(name)
    packages += [f"{name}.{sub}" for sub in find_packages(folder)]

setup(packages=packages, package_dir=package_dir)
