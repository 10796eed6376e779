"""The eBill endpoint refuses XML attacks (entity expansion, external entities, external DTDs) over HTTP."""

from __future__ import annotations

import pytest

from batch_orchestration.sandbox.server import RunningSandbox
from batch_orchestration_tests.sandbox.test_ebill import Ebill, error

BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + b"".join(b'<!ENTITY lol%d "%s">' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10)
                             for n in range(1, 10))
                  + b"]><batchProcess><jobId>&lol9;</jobId></batchProcess>")
PAYLOADS = {
    "billion laughs": BILLION_LAUGHS,
    "external entity": (b'<?xml version="1.0"?><!DOCTYPE b [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
                        b"<batchProcess><jobId>&xxe;</jobId></batchProcess>"),
    "external parameter entity": (b'<?xml version="1.0"?><!DOCTYPE b [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>'
                                  b"<batchProcess><jobId>X</jobId></batchProcess>"),
    "external DTD": (b'<?xml version="1.0"?><!DOCTYPE batchProcess SYSTEM "http://127.0.0.1:9/evil.dtd">'
                     b"<batchProcess><jobId>X</jobId></batchProcess>"),
}


@pytest.fixture
def ebill(sandbox: RunningSandbox, demo_headers: dict[str, str]) -> Ebill:
    return Ebill(sandbox, demo_headers)


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_an_xml_attack_is_refused_unexpanded(ebill: Ebill, payload: bytes) -> None:
    response = ebill.post("BatchInit", payload)
    assert error(response, 400)["errorCode"] == "UNSAFE_XML"
    assert b"lollol" not in response.content and b"root:" not in response.content
    assert error(ebill.get(jobId="X"), 404)["errorCode"] == "NOT_FOUND"  # nothing was created
