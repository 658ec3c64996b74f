"""Read the comments of a Facebook post from the driver's ``_facebookXML``.

The runtime reads ``<comment>`` elements anywhere in the document, each with ``<id>``,
``<author>`` (or ``<from>``) and ``<text>`` (or ``<message>``) children, as documented in
docs/runtime.md. Text that is not well-formed XML has no comments.
"""

from __future__ import annotations

from xml.etree import ElementTree


def comments(xml: str) -> list[dict[str, str]]:
    """``[{id, author, text}]`` in document order; empty when there are none."""
    if "<comment" not in xml:
        return []
    try:
        root = ElementTree.fromstring(xml)  # expat refuses entity expansion bombs
    except ElementTree.ParseError:
        return []
    return [
        {
            "id": _child(element, "id"),
            "author": _child(element, "author", "from"),
            "text": _child(element, "text", "message"),
        }
        for element in root.iter("comment")
    ]


def _child(element: ElementTree.Element, *names: str) -> str:
    for name in names:
        found = element.find(name)
        if found is not None:
            return "".join(found.itertext()).strip()
    return ""
