"""Reading request ``<batchProcess>`` documents and writing responses in the seed's element order."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable

from batch_orchestration.sandbox.ebill.errors import EbillError
from batch_orchestration.sandbox.safe_xml import BadXmlError, UnsafeXmlError, parse_xml

ROOT = "batchProcess"
Fields = Iterable[tuple[str, object]]


def read_request(body: bytes) -> dict[str, str]:
    """The child elements of a ``<batchProcess>`` request as {tag: stripped text}."""
    if not body.strip():
        raise EbillError(400, "MISSING_BODY", "A <batchProcess> XML body is required")
    try:
        root = parse_xml(body)
    except UnsafeXmlError as exc:
        raise EbillError(400, "UNSAFE_XML", str(exc)) from exc
    except BadXmlError as exc:
        raise EbillError(400, "INVALID_XML", str(exc)) from exc
    if root.tag != ROOT:
        raise EbillError(400, "INVALID_XML", f"The root element must be <{ROOT}>, got <{root.tag}>")
    return {child.tag: (child.text or "").strip() for child in root}


def read_flag(fields: dict[str, str], name: str) -> bool:
    raw = fields.get(name, "").lower()
    if raw in ("", "false"):
        return False
    if raw == "true":
        return True
    raise EbillError(400, "INVALID_VALUE", f"<{name}> must be true or false, got {fields[name]!r}")


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def element(tag: str, fields: Fields) -> ET.Element:
    """``<tag>`` with one child per (name, value); a value that is an Element is nested as is."""
    node = ET.Element(tag)
    for name, value in fields:
        if isinstance(value, ET.Element):
            child = ET.SubElement(node, name)
            child.append(value)
        elif isinstance(value, list):
            child = ET.SubElement(node, name)
            child.extend(value)
        else:
            ET.SubElement(node, name).text = _text(value)
    return node


def render(node: ET.Element) -> bytes:
    ET.indent(node, space="")
    return ET.tostring(node, encoding="utf-8", xml_declaration=False, short_empty_elements=False)


def error_document(code: str, message: str) -> bytes:
    return render(element(ROOT, [("status", "Error"), ("errorCode", code), ("errorMessage", message)]))
