"""SRF (Schweizer Radio und Fernsehen): no selectors of its own (the generic extractor finds the body), but a news
site whose lead is part of the article (`recover_lead`) and whose timestamps are Swiss time.
The generic profile's line rules apply; the shared ones (sites/shared.py) are among them."""

from __future__ import annotations

from dataclasses import replace

from pipeline.process.sites import generic

PROFILE = replace(generic.PROFILE, name="srf", hosts=("srf.ch",), language="de", timezone="Europe/Zurich",
                  recover_lead=True)
