"""The base install and every extra resolve to one consistent set of packages.

Dagster's libraries are released in lockstep with one core release each (dagster-postgres
0.29.N requires dagster==1.13.N exactly), and the newest library can lag the newest core,
so the project pins the core. These tests read the pins from the installed project's own
metadata and check them against each other and against what is installed (the suite runs
with the ``test`` and ``scale`` extras).
"""

import re
from importlib import metadata

from packaging.requirements import Requirement

PROJECT = "outreach_assets"
CORE = ("dagster", "dagster-webserver")
LIBRARIES = ("dagster-postgres",)


def _requirements(dist: str, extras: tuple[str, ...] = ()) -> list[Requirement]:
    """``dist``'s requirements that apply with ``extras`` on this interpreter."""
    found = []
    for text in metadata.requires(dist) or []:
        requirement = Requirement(text)
        marker = requirement.marker
        if marker is None or any(marker.evaluate({"extra": extra}) for extra in ("", *extras)):
            found.append(requirement)
    return found


def _extras() -> tuple[str, ...]:
    return tuple(metadata.metadata(PROJECT).get_all("Provides-Extra") or ())


def _pinned(requirement: Requirement) -> str:
    (spec,) = requirement.specifier
    assert spec.operator == "==", f"{requirement} is not pinned exactly"
    return spec.version


def test_every_requirement_of_the_base_install_and_the_extras_is_installed() -> None:
    """What ``pip install -e '.[test,scale]'`` resolved satisfies every requirement, the project's
    and, one level down, the Dagster libraries' own (dagster-postgres names its core)."""
    assert {"scale", "test"} <= set(_extras())
    unmet = []
    project = [r for r in _requirements(PROJECT, _extras()) if r.name != PROJECT]
    for requirement in project + [r for lib in LIBRARIES for r in _requirements(lib)]:
        installed = metadata.version(requirement.name)
        if not requirement.specifier.contains(installed, prereleases=True):
            unmet.append(f"{requirement} (installed {installed})")
    assert not unmet


def test_the_core_and_the_libraries_are_pinned_to_one_release() -> None:
    """The core pins are equal, each library is the core's lockstep release, and what the
    library requires of the core is what the project pins: the base install and the
    ``scale`` extra can only resolve to the same core."""
    by_name = {r.name: r for r in _requirements(PROJECT, _extras())}
    core = {_pinned(by_name[name]) for name in CORE}
    assert len(core) == 1
    (version,) = core
    major_minor, patch = version.rsplit(".", 1)
    for library in LIBRARIES:
        pinned = _pinned(by_name[library])
        assert pinned.rsplit(".", 1)[1] == patch, f"{library}=={pinned} is not dagster {version}'s"
        wants = [r for r in _requirements(library) if r.name == "dagster"]
        assert [_pinned(r) for r in wants] == [version]
    assert re.fullmatch(r"\d+\.\d+", major_minor)
