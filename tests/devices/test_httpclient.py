"""The HTTP device targets share one base: none of them shows its password."""

from __future__ import annotations

import pytest

from devices.biotime.client import BioTimeTarget
from devices.dahua.client import DahuaTarget
from devices.hikvision.client import ISAPITarget
from devices.httpclient import HTTPTarget


@pytest.mark.parametrize("kind", [ISAPITarget, DahuaTarget, BioTimeTarget])
def test_no_target_shows_its_password(kind: type[HTTPTarget]) -> None:
    target = kind("10.0.0.9", 8443, username="ops", password="pa55-word", https=True)
    for text in (repr(target), str(target), repr([target])):
        assert "pa55-word" not in text
        assert text.count(f"{kind.__name__}(https://10.0.0.9:8443, user=ops") == 1


def test_each_vendor_keeps_its_own_page_size() -> None:
    sizes = {kind: kind("h").page_size for kind in (ISAPITarget, DahuaTarget, BioTimeTarget)}
    assert sizes == {ISAPITarget: 30, DahuaTarget: 500, BioTimeTarget: 500}
