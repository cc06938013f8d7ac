"""A4 report pages drawn directly with fpdf2's low-level API (text, rectangles, images).

Why not fpdf2's ``write_html`` or ``table()``: both lay out every table cell with
``multi_cell`` (full line breaking, twice per cell), about 0.9 s for a unit report of
~4000 cells; measuring each cell once and placing it with ``text()`` takes about 0.1 s
(``python -m bench.benchmark``). The layout here is what a report needs and no more:
headings, paragraphs with bold runs, bullet lists, tables that size their columns from
their content (wrapping between words, repeating the header row on a new page), a
full-width verdict box, figures with captions, and "keep N mm together" before a block.

fpdf2 is a pure-Python wheel, so the PDF needs no system library (works on a Windows bench
PC). The text font is DejaVu Sans from matplotlib's package data (a dependency already), so
µ, Ω, ±, ≤ and → print; if it cannot be found the core Helvetica font is used and the text is
folded to Latin-1. Every page carries the running header (the engineering stamp when the run
is one) and a footer with the record's sha256 and the page number.
"""

from __future__ import annotations

import io
import logging
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fpdf import FPDF

log = logging.getLogger(__name__)

PT_MM = 25.4 / 72
BLUE = (31, 59, 102)
NOTE_GREY = (85, 85, 85)
BORDER_GREY = (170, 170, 170)
HEADER_BG = "#eef0f4"
CELL_PAD_MM = 0.8
SHORT_CELL_MM = 26.0  # a cell up to this wide is kept on one line when the table allows
LINE_FACTOR = 1.2  # line height / font size

_LATIN1_FOLD = {
    "µ": "u",
    "Ω": "ohm",
    "≤": "<=",
    "≥": ">=",
    "→": "->",
    "≠": "!=",
    "∞": "inf",
    "±": "+-",
    "•": "-",
}

for _logger in ("fontTools.subset", "fontTools.ttLib.ttFont", "fpdf.svg"):
    logging.getLogger(_logger).setLevel(logging.ERROR)


def dejavu_fonts() -> dict[str, Path] | None:
    """DejaVu Sans regular and bold shipped inside matplotlib (the report uses no italics)."""
    try:
        import matplotlib

        base = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    except Exception:  # pragma: no cover - matplotlib is a dependency
        return None
    files = {"": base / "DejaVuSans.ttf", "B": base / "DejaVuSans-Bold.ttf"}
    return files if all(p.is_file() for p in files.values()) else None


def rgb(colour: str) -> tuple[int, int, int]:
    """'#rrggbb' -> (r, g, b)."""
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


#: a run of text in one style: (text, bold)
Run = tuple[str, bool]


@dataclass(frozen=True)
class Cell:
    """One table cell as drawn: its text, bold or not, background ('#rrggbb' or '')."""

    text: str
    bold: bool = False
    bg: str = ""

    @staticmethod
    def of(value: Any) -> Cell:
        """A template cell (plain value, or {"text", "b", "bg"}) as a Cell."""
        if isinstance(value, dict):
            return Cell(str(value.get("text", "")), bool(value.get("b")), value.get("bg") or "")
        return Cell("" if value is None else str(value))


class ReportPDF(FPDF):
    """A4 portrait with a running header (and banner), a hash footer on every page and the
    flow primitives of a report."""

    def __init__(self, running_title: str, footer_text: str, banner: str = "") -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.running_title = running_title
        self.footer_text = footer_text
        self.banner = banner
        self._widths: dict[tuple[str, float, str], float] = {}
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
        self.set_draw_color(*BORDER_GREY)
        self.set_line_width(0.15)

    @property
    def unicode_ok(self) -> bool:
        return self.report_font == "dejavu"

    def text_safe(self, text: str) -> str:
        """``text`` as the font can print it: unchanged with DejaVu, else folded to Latin-1."""
        if self.unicode_ok:
            return text
        for k, v in _LATIN1_FOLD.items():
            text = text.replace(k, v)
        text = unicodedata.normalize("NFKD", text)
        return text.encode("latin-1", "replace").decode("latin-1")

    # --------------------------------------------------------------------- page furniture
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

    # --------------------------------------------------------------------- measuring
    def style(self, bold: bool, size: float) -> None:
        """Select the report font, unless it is the current one already (fpdf2's set_font
        would emit it again for the next text)."""
        style = "B" if bold else ""
        if (
            self.font_family != self.report_font
            or self.font_style != style
            or (self.font_size_pt != size)
        ):
            self.set_font(self.report_font, style, size)

    def width_of(self, text: str) -> float:
        """Width in mm of ``text`` in the current font (as it will be printed), from the
        font's advance widths (fpdf2's get_string_width also preloads bidirectional text and
        copies fragments: about 30x slower, and the report has no right-to-left text)."""
        key = (self.font_style, self.font_size_pt, text)
        width = self._widths.get(key)
        if width is None:
            assert self.current_font is not None
            printed = self.text_safe(text)
            width = self.current_font.get_text_width(printed, self.font_size_pt, None)[1] / self.k
            self._widths[key] = width
        return width

    def wrap(self, text: str, width: float) -> list[str]:
        """``text`` broken into lines no wider than ``width`` mm (current font): between
        words, and inside a word only when the word alone is wider."""
        lines: list[str] = []
        for para in text.split("\n"):
            line = ""
            for word in para.split(" "):
                candidate = f"{line} {word}" if line else word
                if self.width_of(candidate) <= width:
                    line = candidate
                    continue
                if line:
                    lines.append(line)
                line = word
                while self.width_of(line) > width and len(line) > 1:
                    cut = len(line) - 1
                    while cut > 1 and self.width_of(line[:cut]) > width:
                        cut -= 1
                    # a long token (VISA resource, path, hash) breaks after its separators
                    soft = max(line.rfind(c, 0, cut) for c in ":/,._-)") + 1
                    cut = soft if soft > cut // 2 else cut
                    lines.append(line[:cut])
                    line = line[cut:]
            lines.append(line)
        return lines

    # --------------------------------------------------------------------- flow
    def keep(self, mm: float) -> None:
        """Start a new page unless ``mm`` millimetres are left (keeps a heading with its
        table, a figure with its caption)."""
        if self.get_y() + mm > self.page_break_trigger:
            self.add_page()

    def space(self, mm: float) -> None:
        if self.get_y() + mm <= self.page_break_trigger:
            self.set_y(self.get_y() + mm)

    def heading(self, text: str, level: int = 1) -> None:
        size, before, after = {1: (15, 2.0, 1.5), 2: (12, 4.0, 1.2), 3: (10, 3.0, 1.0)}[level]
        self.space(before)
        self.keep(size * PT_MM * LINE_FACTOR + 8)
        self.set_text_color(*BLUE)
        self.runs([(text, True)], size=size, after=after)
        self.set_text_color(0, 0, 0)

    def runs(
        self,
        runs: Sequence[Run],
        *,
        size: float = 9,
        colour: tuple[int, int, int] | None = None,
        indent: float = 0.0,
        after: float = 1.4,
    ) -> None:
        """A paragraph of text runs (bold or not), wrapped to the text width; each line is
        drawn as one text object per run so that copied text reads as written."""
        if colour:
            self.set_text_color(*colour)
        left = self.l_margin + indent
        width = self.w - self.r_margin - left
        line_h = size * PT_MM * LINE_FACTOR
        words: list[tuple[str, bool]] = []
        for text, bold in runs:
            for n, word in enumerate(text.split(" ")):
                if n and words:  # the space belongs to the word before (one text per run)
                    words[-1] = (words[-1][0] + " ", words[-1][1])
                if word:
                    words.append((word, bold))
        lines: list[list[tuple[str, bool]]] = [[]]
        used = 0.0
        for word, bold in words:
            self.style(bold, size)
            w = self.width_of(word.rstrip(" "))
            if lines[-1] and used + w > width:
                lines.append([])
                used = 0.0
            lines[-1].append((word, bold))
            used += self.width_of(word)
        for line in lines:
            if self.get_y() + line_h > self.page_break_trigger:
                self.add_page()
            y = self.get_y()
            x = left
            for bold, text in _segments(line):
                self.style(bold, size)
                self.text(x, y + size * PT_MM * 0.95, self.text_safe(text))
                x += self.width_of(text)
            self.set_y(y + line_h)
        self.set_y(self.get_y() + after)
        if colour:
            self.set_text_color(0, 0, 0)

    def paragraph(self, text: str, *, bold_lead: str = "", size: float = 9) -> None:
        self.runs([(bold_lead, True), (text, False)] if bold_lead else [(text, False)], size=size)

    def note(self, text: str, *, bold_lead: str = "") -> None:
        """A grey explanatory paragraph (the HTML's ``p.note``)."""
        runs = [(bold_lead, True), (text, False)] if bold_lead else [(text, False)]
        self.runs(runs, size=8, colour=NOTE_GREY)

    def bullets(self, items: Sequence[Sequence[Run]], *, size: float = 9) -> None:
        for item in items:
            y = self.get_y()
            self.style(False, size)
            self.text(self.l_margin + 1.5, y + size * PT_MM * 0.95, self.text_safe("•"))
            self.runs(item, size=size, indent=5, after=0.4)
        self.space(1.0)

    def verdict_box(self, text: str, bg: str, *, size: float = 16) -> None:
        """The verdict (or disposition) as a full-width coloured box."""
        height = size * PT_MM * 1.9
        self.keep(height + 2)
        y = self.get_y() + 1
        self.set_fill_color(*rgb(bg))
        self.set_draw_color(0, 0, 0)
        self.rect(self.l_margin, y, self.epw, height, style="DF")
        self.set_draw_color(*BORDER_GREY)
        self.style(True, size)
        x = self.l_margin + (self.epw - self.width_of(text)) / 2
        self.text(x, y + height / 2 + size * PT_MM * 0.35, self.text_safe(text))
        self.set_y(y + height + 3)

    def figure(self, png: bytes, width_mm: float, height_mm: float, caption: Sequence[Run]) -> None:
        """A plot and its caption, kept on one page."""
        self.keep(height_mm + 14)
        y = self.get_y() + 1
        self.image(io.BytesIO(png), x=self.l_margin, y=y, w=width_mm, h=height_mm)
        self.set_y(y + height_mm + 1)
        self.runs(caption, size=8, colour=NOTE_GREY, after=3)

    # --------------------------------------------------------------------- tables
    def table(
        self,
        headers: Sequence[str] | None,
        rows: Sequence[Sequence[Any]],
        *,
        size: float = 7.5,
        aligns: Sequence[str] | None = None,
        bold_columns: Sequence[int] = (),
    ) -> None:
        """A bordered table over the text width. Columns are sized from their content: each
        gets at least its longest word, the rest of the width goes to the columns whose text
        would otherwise wrap. A row never splits across pages; the header row repeats."""
        head = [Cell(h, True, HEADER_BG) for h in headers] if headers else None
        body = [
            [
                Cell(c.text, True, c.bg) if n in bold_columns else c
                for n, c in enumerate(map(Cell.of, row))
            ]
            for row in rows
        ]
        columns = len(head) if head else max((len(r) for r in body), default=0)
        if not columns:
            return
        widths = self._column_widths(([head] if head else []) + body, columns, size, bool(head))
        aligns = list(aligns or []) + ["left"] * columns
        line_h = size * PT_MM * LINE_FACTOR
        laid = [self._lay_row(r, widths, size) for r in body]
        head_laid = self._lay_row(head, widths, size) if head else None
        if head_laid:
            self.keep(head_laid[1] + (laid[0][1] if laid else 0))
            self._draw_row(head_laid, widths, size, line_h, ["left"] * columns)
        for row in laid:
            if self.get_y() + row[1] > self.page_break_trigger:
                self.add_page()
                if head_laid:
                    self._draw_row(head_laid, widths, size, line_h, ["left"] * columns)
            self._draw_row(row, widths, size, line_h, aligns)
        self.set_y(self.get_y() + 2.5)

    def kv(self, rows: Sequence[Sequence[tuple[str, Any]]], *, size: float = 8) -> None:
        """Rows of (key, value) pairs, keys bold: one pair per row = 2 columns, two = 4."""
        flat = [[c for pair in row for c in pair] for row in rows]
        pairs = max((len(r) for r in rows), default=1)
        self.table(None, flat, size=size, bold_columns=range(0, 2 * pairs, 2))

    def _column_widths(
        self, rows: list[list[Cell]], columns: int, size: float, header: bool
    ) -> list[float]:
        pad = 2 * CELL_PAD_MM
        natural = [pad + 1.0] * columns
        minimum = [pad + 1.0] * columns  # the longest word
        short = [pad + 1.0] * columns  # the longest short cell: a value with its unit, a time
        for r, row in enumerate(rows):
            for n, cell in enumerate(row[:columns]):
                if not cell.text:
                    continue
                self.style(cell.bold, size)
                width = pad + self.width_of(cell.text)
                natural[n] = max(natural[n], width)
                longest = max(self.width_of(w) for w in cell.text.split())
                minimum[n] = max(minimum[n], pad + min(longest, 45.0))
                if width <= SHORT_CELL_MM and not (header and r == 0):  # headers may wrap
                    short[n] = max(short[n], width)
        total = self.epw
        keep_whole = [max(a, b) for a, b in zip(minimum, short, strict=True)]
        if sum(keep_whole) <= total:  # short cells never wrap when the width allows
            minimum = keep_whole
        if sum(natural) <= total:  # everything on one line: share the rest like the widths
            extra = (total - sum(natural)) / sum(natural)
            return [w * (1 + extra) for w in natural]
        if sum(minimum) >= total:  # even the words do not fit: shrink (long words break)
            return [w * total / sum(minimum) for w in minimum]
        slack = [nat - low for nat, low in zip(natural, minimum, strict=True)]
        share = (total - sum(minimum)) / sum(slack)
        return [low + s * share for low, s in zip(minimum, slack, strict=True)]

    def _lay_row(self, row: list[Cell], widths: list[float], size: float) -> tuple[list, float]:
        """Cells with their wrapped lines, and the row height in mm."""
        laid = []
        lines_max = 1
        for cell, width in zip(row, widths, strict=False):
            self.style(cell.bold, size)
            lines = self.wrap(cell.text, width - 2 * CELL_PAD_MM) if cell.text else [""]
            lines_max = max(lines_max, len(lines))
            laid.append((cell, lines))
        return laid, lines_max * size * PT_MM * LINE_FACTOR + 2 * CELL_PAD_MM

    def _draw_row(
        self,
        laid: tuple[list, float],
        widths: list[float],
        size: float,
        line_h: float,
        aligns: Sequence[str],
    ) -> None:
        cells, height = laid
        x, y = self.l_margin, self.get_y()
        for (cell, lines), width, align in zip(cells, widths, aligns, strict=False):
            if cell.bg and cell.bg.lower() != "#ffffff":
                self.set_fill_color(*rgb(cell.bg))
                self.rect(x, y, width, height, style="DF")
            else:
                self.rect(x, y, width, height)
            self.style(cell.bold, size)
            for n, line in enumerate(lines):
                if not line:
                    continue
                if align == "right":
                    tx = x + width - CELL_PAD_MM - self.width_of(line)
                elif align == "center":
                    tx = x + (width - self.width_of(line)) / 2
                else:
                    tx = x + CELL_PAD_MM
                self.text(
                    tx, y + CELL_PAD_MM + n * line_h + size * PT_MM * 0.95, self.text_safe(line)
                )
            x += width
        self.set_y(y + height)


def _segments(line: list[tuple[str, bool]]) -> list[tuple[bool, str]]:
    """Consecutive words of one style joined: [(bold, text), ...]."""
    out: list[tuple[bool, str]] = []
    for word, bold in line:
        if out and out[-1][0] == bold:
            out[-1] = (bold, out[-1][1] + word)
        else:
            out.append((bold, word))
    return out


def new_document(
    *,
    running_title: str,
    footer_text: str,
    banner: str = "",
    title: str = "",
    subject: str = "",
    keywords: str = "",
) -> ReportPDF:
    """A ReportPDF with its metadata set and the first page started."""
    pdf = ReportPDF(running_title, footer_text, banner)
    pdf.set_title(pdf.text_safe(title or running_title))
    pdf.set_subject(pdf.text_safe(subject))
    pdf.set_keywords(pdf.text_safe(keywords))
    pdf.set_creator("isobench reports (fpdf2)")
    pdf.add_page()
    return pdf


def save(pdf: ReportPDF, path: Path) -> Path:
    """Write the PDF next to ``path`` first, then move it in place (never half a file)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    pdf.output(str(tmp))
    tmp.replace(path)
    return path
