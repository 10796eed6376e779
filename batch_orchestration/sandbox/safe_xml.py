"""Parsing untrusted XML with defusedxml: no DTDs, no entity declarations, no external entities.

The standard library expands internal entities (the "billion laughs" attack); defusedxml refuses
them, and with ``forbid_dtd`` any document type declaration too: the eBill API never needs one.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring


class UnsafeXmlError(ValueError):
    """The document declares a DTD or entities."""


class BadXmlError(ValueError):
    """The document is not well-formed XML."""


def parse_xml(data: bytes) -> ET.Element:
    """Parse ``data`` into an element tree, rejecting DTDs and entities."""
    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise UnsafeXmlError(f"DTDs and entity declarations are not accepted ({type(exc).__name__})") from exc
    except ParseError as exc:
        raise BadXmlError(f"malformed XML: {exc}") from exc
