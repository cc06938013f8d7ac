"""HTML (the report template rendered with mode="pdf") to PDF with fpdf2 only.

fpdf2 is a pure-Python wheel, so the PDF needs no system library (works on a Windows bench
PC). The text font is DejaVu Sans from matplotlib's package data (a dependency already), so
µ, Ω, ±, ≤ and → print; if it cannot be found the core Helvetica font is used and the text is
folded to Latin-1. Every page carries the running header (the engineering stamp when the run
is one) and a footer with the record's sha256 and the page number.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import TextStyle

log = logging.getLogger(__name__)

KEEP = re.compile(r"<!--\s*keep\s+([0-9.]+)\s*-->")

_LATIN1_FOLD = {
    "µ": "u",
    "Ω": "ohm",
    "≤": "<=",
    "≥": ">=",
    "→": "->",
    "≠": "!=",
    "∞": "inf",
    "±": "+-",
}

for _logger in ("fontTools.subset", "fontTools.ttLib.ttFont", "fpdf.svg"):
    logging.getLogger(_logger).setLevel(logging.ERROR)


def dejavu_fonts() -> dict[str, Path] | None:
    """DejaVu Sans regular/bold/oblique/bold-oblique shipped inside matplotlib."""
    try:
        import matplotlib

        base = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    except Exception:  # pragma: no cover - matplotlib is a dependency
        return None
    files = {
        "": base / "DejaVuSans.ttf",
        "B": base / "DejaVuSans-Bold.ttf",
        "I": base / "DejaVuSans-Oblique.ttf",
        "BI": base / "DejaVuSans-BoldOblique.ttf",
    }
    return files if all(p.is_file() for p in files.values()) else None


class ReportPDF(FPDF):
    """A4 portrait with a running header (and banner) and a hash footer on every page."""

    def __init__(self, running_title: str, footer_text: str, banner: str = "") -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.running_title = running_title
        self.footer_text = footer_text
        self.banner = banner
        self.set_margins(12, 14, 12)
        self.set_auto_page_break(True, margin=16)
        fonts = dejavu_fonts()
        if fonts:
            for style, path in fonts.items():
                self.add_font("dejavu", style, str(path))
            self.report_font = "dejavu"
        else:
            self.report_font = "helvetica"
        self.set_font(self.report_font, size=9)

    @property
    def unicode_ok(self) -> bool:
        return self.report_font == "dejavu"

    def text_safe(self, text: str, html: bool = False) -> str:
        """``text`` as the font can print it: unchanged with DejaVu, else folded to Latin-1
        (in HTML with the < and > of the replacements escaped)."""
        if self.unicode_ok:
            return text
        for k, v in _LATIN1_FOLD.items():
            if html:
                v = v.replace("<", "&lt;").replace(">", "&gt;")
            text = text.replace(k, v)
        text = unicodedata.normalize("NFKD", text)
        return text.encode("latin-1", "replace").decode("latin-1")

    def header(self) -> None:
        self.set_font(self.report_font, "", 7)
        self.set_text_color(110, 110, 110)
        self.set_xy(self.l_margin, 6)
        self.cell(0, 4, self.text_safe(self.running_title), align="L")
        if self.banner:
            self.set_xy(self.l_margin, 10.5)
            self.set_fill_color(200, 0, 0)
            self.set_text_color(255, 255, 255)
            self.set_font(self.report_font, "B", 10)
            self.cell(0, 6, self.text_safe(self.banner), align="C", fill=True)
            self.set_y(19)
        else:
            self.set_y(self.t_margin)
        self.set_text_color(0, 0, 0)
        self.set_font(self.report_font, "", 9)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.report_font, "", 6.5)
        self.set_text_color(110, 110, 110)
        text = f"{self.footer_text}   page {self.page_no()}/{{nb}}"
        self.cell(0, 4, self.text_safe(text), align="C")
        self.set_text_color(0, 0, 0)


def tag_styles() -> dict[str, TextStyle]:
    blue = "#1f3b66"
    return {
        "h1": TextStyle(font_size_pt=15, color=blue, t_margin=2, b_margin=1.5, font_style="B"),
        "h2": TextStyle(font_size_pt=12, color=blue, t_margin=4, b_margin=1.2, font_style="B"),
        "h3": TextStyle(font_size_pt=10, color=blue, t_margin=3, b_margin=1, font_style="B"),
    }


def html_to_pdf(
    html: str,
    path: Path,
    *,
    running_title: str,
    footer_text: str,
    banner: str = "",
    title: str = "",
    subject: str = "",
    keywords: str = "",
) -> Path:
    """Write ``html`` (fpdf2's write_html subset) as a PDF at ``path``."""
    pdf = ReportPDF(running_title, footer_text, banner)
    pdf.set_title(pdf.text_safe(title or running_title))
    pdf.set_subject(pdf.text_safe(subject))
    pdf.set_keywords(pdf.text_safe(keywords))
    pdf.set_creator("isobench reports (fpdf2)")
    pdf.add_page()
    # "<!-- keep N -->" markers (top level only) split the HTML into blocks; a block starts on
    # a new page unless N mm are left, so a heading stays with its table, a figure with its
    # caption. fpdf2's write_html has no keep-together of its own.
    parts = KEEP.split(pdf.text_safe(html, html=True))
    blocks = [(0.0, parts[0])] + [
        (float(parts[i]), parts[i + 1]) for i in range(1, len(parts) - 1, 2)
    ]
    for need_mm, block in blocks:
        if not block.strip():
            continue
        if need_mm and pdf.will_page_break(need_mm):
            pdf.add_page()
        pdf.write_html(
            block,
            font_family=pdf.report_font,
            tag_styles=tag_styles(),
            table_line_separators=True,
            warn_on_tags_not_matching=False,
        )
    tmp = path.with_suffix(path.suffix + ".tmp")
    pdf.output(str(tmp))
    tmp.replace(path)
    return path
