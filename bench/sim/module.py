"""The ``[sim]`` table of a station file: the module a simulated station serves.

Read only by the simulator (``isobench sim --station FILE`` serves the file's resources with
this module); the controller (``isobench inspect``) never reads it, so the station loader keeps
it as a plain table and this module checks it when the simulator starts.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from bench.sim.defects import parse_defect
from bench.sim.fault_spec import parse_fault


class SimModule(BaseModel):
    """Optional ``[sim]`` table: the module a simulated station serves.

    Checked when the simulator reads it (``sim_module``). Written by ``isobench sim
    --write-station`` so the file says what it points at.
    """

    model_config = ConfigDict(extra="forbid")

    serial: str = "SIM-0001"
    #: catalogue defects, "NAME" (default severity) or "NAME=VALUE" (bench/sim/defects.toml)
    defects: list[str] = Field(default_factory=list)
    #: simulated unit parameters, e.g. {gain_error = 0.003, supply_model = "linear"}
    overrides: dict[str, float | str] = Field(default_factory=dict)
    nominal: bool = False  # the exact nominal module, no per-unit spread
    seed: int | None = None  # noise of the simulated instruments (default: from the serial)
    #: lot mode (see bench/sim/lot.py): serve lot_size units one after another
    lot_size: int | None = Field(None, ge=1, le=100_000)
    defect_rate: float = Field(0.0, ge=0.0, le=1.0)
    lot_seed: int = 0
    #: instrument faults to inject, "KIND@ROLE[,after=N][,on=HEADER]..." (bench/sim/fault_spec.py)
    faults: list[str] = Field(default_factory=list)

    @field_validator("defects", "faults")
    @classmethod
    def _parsable(cls, value: list[str], info: ValidationInfo) -> list[str]:
        """Each entry as its parser reads it, so a typo is reported before the bench starts."""

        parse = parse_defect if info.field_name == "defects" else parse_fault
        for item in value:
            parse(item)
        return value


def sim_module(table: dict[str, object] | None, where: str) -> SimModule:
    """Check a station file's ``[sim]`` table; a problem is one line naming ``where``."""
    try:
        return SimModule.model_validate(table or {})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        text = str(err["msg"]).removeprefix("Value error, ")
        raise ValueError(f"{where}: sim.{loc}: {text}") from None
