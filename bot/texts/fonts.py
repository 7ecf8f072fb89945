"""A TrueType font with Cyrillic letters for the PDF documents.

ReportLab's built-in fonts (Helvetica and the like) have no Cyrillic: a name typed in
Ukrainian or Russian would come out as black boxes. The font is looked for, in order:

1. the file named by the environment variable HOMEWARD_PDF_FONT (a regular TTF; the bold
   face is a sibling file such as ``-Bold.ttf``, or the same file);
2. PT Sans from the PyPI package ``fontpkg-pt-sans`` (made for Cyrillic, OFL, under 1 MB);
3. the usual system places of DejaVu Sans, Liberation Sans, Noto Sans and Arial on
   Debian/Ubuntu, Fedora, Arch, Alpine, openSUSE, macOS and Windows.

Nothing here imports ReportLab until a font is registered, so importing this module
costs the bot nothing while idle.
"""

from __future__ import annotations

import importlib.util
import os
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

FONT_ENV = "HOMEWARD_PDF_FONT"
PACKAGED_FONT = "fontpkg_pt_sans"  # pip install fontpkg-pt-sans
# Letters of Ukrainian and Russian that a usable font must have.
CYRILLIC_SAMPLE = "АаБбГгҐґЕеЄєЖжИиІіЇїЙйЩщЬьЮюЯяЁёЫыЪъЭэ"

# (regular, bold) pairs, in order of preference.
SYSTEM_FONTS: tuple[tuple[str, str], ...] = (
    # Debian, Ubuntu (fonts-dejavu-core)
    (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    ),
    # Fedora 36 and later (dejavu-sans-fonts)
    (
        "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans-Bold.ttf",
    ),
    # older Fedora, CentOS, Alpine (font-dejavu)
    ("/usr/share/fonts/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf"),
    # Arch (ttf-dejavu)
    ("/usr/share/fonts/TTF/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf"),
    # openSUSE
    ("/usr/share/fonts/truetype/DejaVuSans.ttf", "/usr/share/fonts/truetype/DejaVuSans-Bold.ttf"),
    # FreeBSD (dejavu)
    (
        "/usr/local/share/fonts/dejavu/DejaVuSans.ttf",
        "/usr/local/share/fonts/dejavu/DejaVuSans-Bold.ttf",
    ),
    # Liberation Sans: Debian, Ubuntu, Fedora, Arch
    (
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    ),
    (
        "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/liberation2/LiberationSans-Bold.ttf",
    ),
    (
        "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
        "/usr/share/fonts/liberation-sans/LiberationSans-Bold.ttf",
    ),
    (
        "/usr/share/fonts/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/liberation/LiberationSans-Bold.ttf",
    ),
    # Noto Sans: Debian, Ubuntu (fonts-noto-core), Fedora, Arch
    (
        "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
        "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
    ),
    (
        "/usr/share/fonts/google-noto/NotoSans-Regular.ttf",
        "/usr/share/fonts/google-noto/NotoSans-Bold.ttf",
    ),
    ("/usr/share/fonts/noto/NotoSans-Regular.ttf", "/usr/share/fonts/noto/NotoSans-Bold.ttf"),
    # macOS: DejaVu from Homebrew, then Arial, which has Cyrillic
    ("~/Library/Fonts/DejaVuSans.ttf", "~/Library/Fonts/DejaVuSans-Bold.ttf"),
    ("/Library/Fonts/DejaVuSans.ttf", "/Library/Fonts/DejaVuSans-Bold.ttf"),
    ("/opt/homebrew/share/fonts/DejaVuSans.ttf", "/opt/homebrew/share/fonts/DejaVuSans-Bold.ttf"),
    (
        "/System/Library/Fonts/Supplemental/Arial.ttf",
        "/System/Library/Fonts/Supplemental/Arial Bold.ttf",
    ),
    ("/Library/Fonts/Arial.ttf", "/Library/Fonts/Arial Bold.ttf"),
)
WINDOWS_FONTS = (("arial.ttf", "arialbd.ttf"), ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"))


class NoCyrillicFont(RuntimeError):
    """No TrueType font with Cyrillic letters was found: the PDF cannot be made."""

    def __init__(self, detail: str = "") -> None:
        message = (
            "No TrueType font with Cyrillic letters was found for the PDF. Install one "
            "(pip install fontpkg-pt-sans, or the system package fonts-dejavu-core / "
            f"dejavu-sans-fonts / ttf-dejavu), or set {FONT_ENV} to the path of a .ttf file."
        )
        super().__init__(f"{message} {detail}".strip())


@dataclass(frozen=True)
class FontFiles:
    regular: Path
    bold: Path


@dataclass(frozen=True)
class PdfFont:
    """A font family registered with ReportLab, under these names."""

    regular: str
    bold: str
    characters: frozenset[int]  # what the regular face can draw
    path: str  # of the regular face

    def pick(self, preferred: str, fallback: str) -> str:
        """`preferred` if the font can draw it, else `fallback` (PT Sans has no arrows)."""
        return preferred if all(ord(c) in self.characters for c in preferred) else fallback


def bold_sibling(regular: Path) -> Path:
    """The bold face beside a regular one, by the usual file names; else the same file."""
    stem, suffix = regular.stem, regular.suffix
    names = []
    for word in ("Regular", "regular", "Book", "Roman"):
        if word in stem:
            names.append(stem.replace(word, "Bold"))
    names += [f"{stem}-Bold", f"{stem}Bold", f"{stem} Bold", f"{stem}_Bold", f"{stem}bd"]
    for name in names:
        candidate = regular.with_name(name + suffix)
        if candidate != regular and candidate.is_file():
            return candidate
    return regular


def _packaged() -> FontFiles | None:
    # find_spec locates the package without running it.
    spec = importlib.util.find_spec(PACKAGED_FONT)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        files = Path(location) / "files"
        regular, bold = files / "PT_Sans-Web-Regular.ttf", files / "PT_Sans-Web-Bold.ttf"
        if regular.is_file():
            return FontFiles(regular, bold if bold.is_file() else regular)
    return None


def candidates(environ: Mapping[str, str] | None = None) -> Iterator[FontFiles]:
    """The fonts that exist on this machine, best first (the override is not among them)."""
    environ = os.environ if environ is None else environ
    packaged = _packaged()
    if packaged is not None:
        yield packaged
    pairs = list(SYSTEM_FONTS)
    windir = environ.get("WINDIR") or environ.get("SystemRoot")
    if windir:
        pairs += [(f"{windir}/Fonts/{r}", f"{windir}/Fonts/{b}") for r, b in WINDOWS_FONTS]
    for regular_name, bold_name in pairs:
        regular, bold = Path(regular_name).expanduser(), Path(bold_name).expanduser()
        if regular.is_file():
            yield FontFiles(regular, bold if bold.is_file() else regular)


def pdf_font(environ: Mapping[str, str] | None = None) -> PdfFont:
    """Register (once) and return the font for the PDFs; raises NoCyrillicFont.

    An override that is missing or lacks Cyrillic is an error, not a silent fallback:
    whoever set it expects it to be used.
    """
    environ = os.environ if environ is None else environ
    override = environ.get(FONT_ENV, "").strip()
    if override:
        regular = Path(override).expanduser()
        if not regular.is_file():
            raise NoCyrillicFont(f"{FONT_ENV}={override} is not a file.")
        font = _register(str(regular), str(bold_sibling(regular)))
        if font is None:
            raise NoCyrillicFont(f"{FONT_ENV}={override} is not a TrueType font with Cyrillic.")
        return font
    for files in candidates(environ):
        font = _register(str(files.regular), str(files.bold))
        if font is not None:
            return font
    raise NoCyrillicFont()


@lru_cache(maxsize=8)
def _register(regular: str, bold: str) -> PdfFont | None:
    """Register the pair with ReportLab; None if the regular face is unusable."""
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    def load(path: str) -> TTFont | None:
        name = f"Homeward-{zlib.crc32(path.encode()):08x}"
        try:
            font = TTFont(name, path)
        except (TTFError, OSError, ValueError):
            return None
        if any(ord(c) not in font.face.charToGlyph for c in CYRILLIC_SAMPLE):
            return None
        return font

    regular_font = load(regular)
    if regular_font is None:
        return None
    bold_font = (load(bold) if bold != regular else None) or regular_font
    for font in {regular_font.fontName: regular_font, bold_font.fontName: bold_font}.values():
        pdfmetrics.registerFont(font)
    # <b> in a Paragraph then finds the bold face.
    for italic in (0, 1):
        addMapping(regular_font.fontName, 0, italic, regular_font.fontName)
        addMapping(regular_font.fontName, 1, italic, bold_font.fontName)
    return PdfFont(
        regular=regular_font.fontName,
        bold=bold_font.fontName,
        characters=frozenset(regular_font.face.charToGlyph),
        path=regular,
    )
