"""infomorph: train infomorphic networks and inspect each neuron's information decomposition.

Subpackages: ``inspector.pid`` (the I^sx engine), ``inspector.cli`` (the ``infomorph`` command).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("infomorph")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0+unknown"
