"""Reading XML label files with line numbers for error messages, and no DTDs.

ElementTree does not keep line numbers, so this builds the tree from expat events and records
the line of every element.  Documents with a DTD are refused: label files never need one, and
entity tricks (billion laughs, external entities) live there.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from xml.parsers import expat

from microlab.errors import FormatError

T = TypeVar("T")


_KINDS: dict[object, str] = {float: "number", int: "whole number", str: "text"}


class XmlDocument:
    """A parsed XML file: ``root`` plus :meth:`where` to name an element in error messages."""

    def __init__(self, path: Path, root: ET.Element, lines: dict[int, int]) -> None:
        self.path = path
        self.root = root
        self._lines = lines

    def line(self, elem: ET.Element) -> int:
        return self._lines.get(id(elem), 0)

    def where(self, elem: ET.Element) -> str:
        """``'FILE line N, <box frame="3" ...>'``: where an element is and what it looks like."""
        attrs = " ".join(f'{k}="{v}"' for k, v in list(elem.attrib.items())[:3])
        tag = f"<{elem.tag}{' ' + attrs if attrs else ''}>"
        return f"{self.path} line {self.line(elem)}, {tag}"

    def error(self, elem: ET.Element, message: str) -> FormatError:
        return FormatError(f"{self.where(elem)}: {message}")

    def child(self, elem: ET.Element, tag: str) -> ET.Element:
        """The required child ``tag`` of ``elem``."""
        found = elem.find(tag)
        if found is None:
            raise self.error(elem, f"expected a <{tag}> element inside, but there is none")
        return found

    def value(self, elem: ET.Element, tag: str, convert: Callable[[str], T], what: str = "") -> T:
        """The text of the required child ``tag`` converted with ``convert``."""
        node = self.child(elem, tag)
        return self.convert(node, (node.text or "").strip(), convert, what or tag)

    def attr(self, elem: ET.Element, name: str, convert: Callable[[str], T]) -> T:
        """The required attribute ``name`` converted with ``convert``."""
        if name not in elem.attrib:
            raise self.error(elem, f"attribute {name!r} is missing")
        return self.convert(elem, elem.attrib[name], convert, f"attribute {name!r}")

    def convert(self, elem: ET.Element, text: str, convert: Callable[[str], T], what: str) -> T:
        try:
            return convert(text)
        except (TypeError, ValueError) as exc:
            kind = _KINDS.get(convert, getattr(convert, "__name__", "value"))
            raise self.error(elem, f"{what} must be a {kind}, but got {text!r}") from exc


def flag(text: str) -> bool:
    """``"0"``/``"1"`` (also ``true``/``false``) as a bool."""
    value = text.strip().lower()
    if value in ("1", "true"):
        return True
    if value in ("0", "false", ""):
        return False
    raise ValueError(text)


flag.__name__ = "0 or 1"


def parse_xml(path: str | Path) -> XmlDocument:
    """Parse an XML file, remembering each element's line; raise :class:`FormatError` if broken."""
    path = Path(path)
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate()
    lines: dict[int, int] = {}

    def start(tag: str, attrs: dict[str, str]) -> None:
        lines[id(builder.start(tag, attrs))] = parser.CurrentLineNumber

    def refuse_dtd(*_: object) -> None:
        raise FormatError(
            f"{path} line {parser.CurrentLineNumber}: the file declares a DTD (<!DOCTYPE ...>); "
            "label files never need one and it is refused for safety. Remove it."
        )

    parser.StartElementHandler = start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = refuse_dtd
    parser.EntityDeclHandler = refuse_dtd
    try:
        with open(path, "rb") as fh:
            parser.ParseFile(fh)
    except expat.ExpatError as exc:
        raise FormatError(
            f"{path} line {exc.lineno}, column {exc.offset + 1}: not well-formed XML "
            f"({expat.ErrorString(exc.code)}); is the file truncated or not XML?"
        ) from exc
    except OSError as exc:
        raise FormatError(f"cannot read {path}: {exc}") from exc
    root = builder.close()
    # Keep every element alive with the document, so the ids in ``lines`` stay theirs.
    return XmlDocument(path, root, lines)


def write_xml(root: ET.Element, path: Path) -> None:
    """Write an element tree, indented, with an XML declaration."""
    ET.indent(root, space="  ")
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("\n")


def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    """Append a child element with optional text."""
    elem = ET.SubElement(parent, tag, attrs)
    if text is not None:
        elem.text = text
    return elem
