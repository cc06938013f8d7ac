"""Module profiles: every characteristic, its limits, unit, datasheet line and decision rule.

A profile is a TOML file under ``procedures/profiles`` (or any path); changing a limit or adding
a module type needs no code change. ``Characteristic.judge`` applies the profile's decision rule
with the measurement's uncertainty and the temperature allowance.
"""

from __future__ import annotations

import math
import re
import tomllib
from functools import cache
from importlib import resources
from pathlib import Path

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from procedures.decision import Decision, Rule, decide


class ProfileError(ValueError):
    """A profile that cannot be used; ``str()`` is one line naming the key and the fix."""


class ModuleInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    manufacturer: str
    type: str
    description: str = ""
    datasheet: str
    upper_range_value_a: float = Field(gt=0.0)
    nominal_supply_v: float = Field(gt=0.0)
    limit_frequency_hz: float = Field(gt=0.0)
    temperature_coefficient_per_k: float = Field(ge=0.0)
    reference_temperature_c: float
    reference_temperature_source: str = ""
    #: ambient the datasheet specifies operation for (min, max); a run outside it is refused
    operating_ambient_c: tuple[float, float] = (-273.15, 1000.0)
    #: relative humidity the datasheet allows (min, max), in %
    operating_humidity_pct: tuple[float, float] = (0.0, 100.0)
    #: what a serial number of this module type looks like: a regular expression (Python
    #: ``re``) the whole scanned serial must match; absent, any serial the CLI accepts
    #: (1-64 printable characters without path separators)
    serial_pattern: str | None = None

    @field_validator("serial_pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            if not value.strip():
                raise ValueError("empty; remove the key to accept any serial")
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression ({exc}); fix or remove it") from None
        return value


class Ratings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input_current_max_a: float = Field(gt=0.0)
    supply_min_v: float = Field(gt=0.0)
    supply_max_v: float = Field(gt=0.0)
    load_max_ohm: float = Field(gt=0.0)
    source: str = ""


class Characteristic(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = ""
    title: str
    unit: str
    lower: float | None = None
    upper: float | None = None
    rule: Rule
    typical: bool = False
    typical_value: float | None = None
    temperature_allowance: bool = False
    datasheet: str
    conditions: str = ""
    note: str = ""
    #: the plan's uncertainty target as a test uncertainty ratio: U <= half the tolerance
    #: interval / tur_min (docs/metrology.md section 8); None = no target, the plan's defaults
    tur_min: float | None = Field(default=None, gt=1.0)

    @property
    def expanded_uncertainty_target(self) -> float | None:
        """The largest U the plan aims for: half the tolerance interval over ``tur_min``
        (TUR as ILAC-G8:09/2019 and docs/metrology.md 3.2 define it), None without a target."""
        if self.tur_min is None or self.lower is None or self.upper is None:
            return None
        return (self.upper - self.lower) / 2.0 / self.tur_min

    @model_validator(mode="after")
    def _limits(self) -> Characteristic:
        if self.rule != Rule.INFORMATIVE and self.lower is None and self.upper is None:
            raise ValueError(
                f"rule {self.rule.value} needs a lower or upper limit; "
                "add one or make it informative"
            )
        if self.lower is not None and self.upper is not None and self.lower > self.upper:
            raise ValueError("lower is above upper; swap them")
        return self

    def judge(
        self,
        y: float,
        u: float,
        *,
        allowance: float = 0.0,
        k: float | None = None,
        dof: float = math.inf,
    ) -> Decision:
        """Decision for one measured value y with standard uncertainty u and its effective
        degrees of freedom (k = t_0.975(dof) unless given; see decision.py)."""
        return decide(
            y,
            u,
            lower=self.lower,
            upper=self.upper,
            rule=self.rule,
            k=k,
            dof=dof,
            allowance=allowance if self.temperature_allowance else 0.0,
        )


class Retest(BaseModel):
    """``[retest]``: which attempt decides a unit inspected more than once in a lot (the lot
    keeps a copy when it starts; see ``procedures.sampling.RetestPolicy`` for the default)."""

    model_config = ConfigDict(extra="forbid")

    conditional_retests: int = Field(1, ge=0, le=3)
    fail_retests: int = Field(0, ge=0, le=3)
    basis: str = (
        "ILAC-G8:09/2019 4.2.3: a conditional result may be re-measured once, the later "
        "result decides; ISO 2859-1: a FAIL stands unless the run is invalidated"
    )


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    module: ModuleInfo
    ratings: Ratings
    characteristics: dict[str, Characteristic]
    retest: Retest = Field(default_factory=Retest)
    source_file: str = ""

    @model_validator(mode="after")
    def _names(self) -> Profile:
        for name, characteristic in self.characteristics.items():
            characteristic.name = name
        return self

    def __getitem__(self, name: str) -> Characteristic:
        try:
            return self.characteristics[name]
        except KeyError:
            raise ProfileError(
                f"module profile {self.source_file}: no characteristic {name!r}; "
                "add it to the profile"
            ) from None

    @property
    def title(self) -> str:
        return f"{self.module.manufacturer} {self.module.type}"

    def check_environment(self, ambient_c: float | None, humidity_pct: float | None) -> None:
        """Refuse a run whose stated ambient lies outside the module's operating conditions:
        the datasheet's limits do not apply there, so no verdict could be given."""
        for value, (low, high), what, unit in (
            (ambient_c, self.module.operating_ambient_c, "ambient temperature", "C"),
            (humidity_pct, self.module.operating_humidity_pct, "relative humidity", "%"),
        ):
            if value is None:
                continue
            if not math.isfinite(value) or not low <= value <= high:
                raise ProfileError(
                    f"{what} {value:g} {unit} is outside the {self.title}'s operating range "
                    f"{low:g} ... {high:g} {unit} (its datasheet); measure it again, or inspect "
                    "in conditions the datasheet covers"
                )

    def check_serial(self, serial: str) -> None:
        """Refuse a serial that cannot be this module type's (a mistyped or wrong label)
        before anything is switched on; without a ``serial_pattern`` every serial is allowed."""
        pattern = self.module.serial_pattern
        if pattern is not None and re.fullmatch(pattern, serial) is None:
            raise ProfileError(
                f"serial {serial!r} does not match the {self.title} serial pattern {pattern} "
                f"(module.serial_pattern in {self.source_file or 'the module profile'}); scan "
                "the module's label again, or correct the pattern"
            )

    def temperature_allowance_a(self, ambient_c: float | None) -> float:
        """TC x |ambient - reference| x URV: how far the module may move off reference."""
        if ambient_c is None or not math.isfinite(ambient_c):
            return 0.0
        m = self.module
        return (
            m.temperature_coefficient_per_k
            * abs(ambient_c - m.reference_temperature_c)
            * (m.upper_range_value_a)
        )


def _one_line(path: str, exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    if err["type"] == "missing":
        text = "missing; add it"
    elif err["type"] == "extra_forbidden":
        text = "unknown key; check its spelling"
    else:
        text = str(err["msg"]).removeprefix("Value error, ")
    return f"module profile {path}: {loc}: {text}"


def load_profile(path: str | Path) -> Profile:
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"module profile {file}: not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"module profile {file}: not valid TOML ({exc})") from None
    try:
        return Profile.model_validate({**data, "source_file": str(file)})
    except ValidationError as exc:
        raise ProfileError(_one_line(str(file), exc)) from None


@cache
def builtin_profile(name: str = "wago-857-411") -> Profile:
    text = resources.files("procedures").joinpath(f"profiles/{name}.toml")
    with resources.as_file(text) as file:
        return load_profile(file)


def resolve_profile(name_or_path: str) -> Profile:
    if name_or_path.endswith(".toml") or "/" in name_or_path or "\\" in name_or_path:
        return load_profile(name_or_path)
    try:
        return builtin_profile(name_or_path)
    except ProfileError:
        raise ProfileError(
            f"module profile {name_or_path!r}: no built-in profile of that name; "
            "give a path to a .toml file or use wago-857-411"
        ) from None
