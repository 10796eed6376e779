"""Parsing untrusted XML: no DTDs, no entity declarations, no external entities.

The standard library expands internal entities (the "billion laughs" attack) and defusedxml is not
a dependency, so the parser is driven through expat directly and refuses any document type
declaration outright: the eBill API never needs one.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import NoReturn
from xml.parsers import expat


class UnsafeXmlError(ValueError):
    """The document declares a DTD or entities."""


class BadXmlError(ValueError):
    """The document is not well-formed XML."""


def _forbid(*_: object) -> NoReturn:
    raise UnsafeXmlError("DTDs and entity declarations are not accepted")


def parse_xml(data: bytes) -> ET.Element:
    """Parse ``data`` into an element tree, rejecting DTDs and entities."""
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _forbid
    parser.EntityDeclHandler = _forbid
    parser.UnparsedEntityDeclHandler = _forbid
    parser.ExternalEntityRefHandler = _forbid
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise BadXmlError(f"malformed XML: {exc}") from exc
    return builder.close()
