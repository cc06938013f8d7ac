"""Plots for reports, rendered headless (Agg) to PNG bytes from recorded readings only."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd


def _png(fig: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def transfer_error_plot(readings: pd.DataFrame, limit_a: float, title: str) -> bytes:
    """Error vs input (uA vs mA), up and down, with U bars, the limits and the guard band."""
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for direction, marker in (("up", "^"), ("down", "v")):
        part = readings[readings["direction"] == direction]
        if part.empty:
            continue
        ax.errorbar(
            part["input_a"] * 1e3,
            part["error_a"] * 1e6,
            yerr=part["expanded_u_a"] * 1e6,
            fmt=marker + "-",
            capsize=3,
            ms=5,
            label=f"{direction}scale (bars: U, k = 2)",
        )
    x_max = max(20.5, float(readings["input_a"].max() * 1e3) + 0.5)
    ax.axhline(limit_a * 1e6, color="tab:red", lw=1.2, label=f"limit +-{limit_a * 1e6:g} uA")
    ax.axhline(-limit_a * 1e6, color="tab:red", lw=1.2)
    if "expanded_u_a" in readings and readings["expanded_u_a"].notna().any():
        guard = (limit_a - readings["expanded_u_a"]) * 1e6
        order = readings["input_a"].argsort()
        x = readings["input_a"].to_numpy()[order] * 1e3
        ax.plot(
            x,
            guard.to_numpy()[order],
            color="tab:orange",
            ls="--",
            lw=1,
            label="acceptance limit (limit - U)",
        )
        ax.plot(x, -guard.to_numpy()[order], color="tab:orange", ls="--", lw=1)
    ax.set_xlim(-0.5, x_max)
    ax.set_xlabel("measured input current (mA)")
    ax.set_ylabel("transmission error I_out - I_in (uA)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    return _png(fig)
