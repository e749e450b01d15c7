"""The overall verdict in junit.xml, so CI systems show what the report and the console show.

pytest writes one testcase per row; this adds the run's verdict as testsuite properties and one more
testcase, `smis-harness overall verdict`, that fails unless the run is conformant.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from harness.redact import Redactor

OVERALL_CASE = "overall verdict"


def add_overall_verdict(junit_path: Path, document: dict[str, Any], redactor: Redactor | None = None) -> None:
    """Rewrite junit.xml in place, redacted; a missing or unreadable file is left as it is (the results
    stand)."""
    try:
        text = junit_path.read_text(errors="replace")
        tree = ET.ElementTree(ET.fromstring((redactor or Redactor()).text(text).encode()))
    except (OSError, ET.ParseError):
        return
    root = tree.getroot()
    if root is None:
        return
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    if suite is None:
        return
    verdict, headline = str(document.get("verdict", "error")), str(document.get("headline", ""))
    _set_property(suite, "smis-harness.verdict", verdict)
    _set_property(suite, "smis-harness.headline", headline)
    _set_property(suite, "smis-harness.exit_code", str(document.get("exit_code", "")))
    for old in suite.findall(f"testcase[@name='{OVERALL_CASE}']"):
        suite.remove(old)
    case = ET.SubElement(suite, "testcase", classname="smis-harness", name=OVERALL_CASE, time="0")
    suite.set("tests", str(int(suite.get("tests", "0")) + 1))
    if verdict != "conformant":
        kind = "error" if verdict == "error" else "failure"
        ET.SubElement(case, kind, message=headline, type=f"smis-harness.{verdict}").text = headline
        suite.set(f"{kind}s", str(int(suite.get(f"{kind}s", "0")) + 1))
    tree.write(junit_path, encoding="utf-8", xml_declaration=True)


def _set_property(suite: ET.Element, name: str, value: str) -> None:
    properties = suite.find("properties")
    if properties is None:
        properties = ET.Element("properties")
        suite.insert(0, properties)
    for prop in properties.findall("property"):
        if prop.get("name") == name:
            prop.set("value", value)
            return
    ET.SubElement(properties, "property", name=name, value=value)
