"""outreach_assets: Outreach.io REST API v2 as partitioned Parquet assets in Dagster.

``dagster ... -m outreach_assets`` loads the code location from this package, so ``defs`` is
re-exported here. The export is lazy (module ``__getattr__``/``__dir__``, which Dagster's
``inspect.getmembers`` discovery honours) so that importing the plain HTTP client or the
sandbox server does not drag in Dagster.
"""

from typing import Any

__all__ = ["defs"]


def __getattr__(name: str) -> Any:
    if name == "defs":
        from outreach_assets.definitions import defs

        return defs
    raise AttributeError(f"module 'outreach_assets' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "defs"])
