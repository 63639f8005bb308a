"""Site profiles: one small module per site (selectors and boilerplate patterns).

`get_profile(name)` returns a registered profile; `profile_for_url(url)` picks the profile
whose hosts match the URL's host (`www.rts.ch` → `rts`) and `generic` otherwise. To add a
site: write `sites/<name>.py` with `PROFILE = SiteProfile(...)` and list it in `_PROFILES`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pipeline.process.sites import generic, rsi, rts, srf
from pipeline.process.sites.base import HtmlSelectors, SiteProfile

__all__ = [
    "HtmlSelectors",
    "SiteProfile",
    "UnknownProfileError",
    "available_profiles",
    "get_profile",
    "profile_for_url",
]

_PROFILES: dict[str, SiteProfile] = {p.name: p for p in (rts.PROFILE, srf.PROFILE, rsi.PROFILE, generic.PROFILE)}


class UnknownProfileError(KeyError):
    """Raised by `get_profile` for a name that is not registered."""


def available_profiles() -> list[str]:
    return sorted(_PROFILES)


def get_profile(name: str | SiteProfile | None) -> SiteProfile:
    """The registered profile called `name` (`None` → generic)."""
    if isinstance(name, SiteProfile):
        return name
    if not name:
        return _PROFILES["generic"]
    try:
        return _PROFILES[name.lower()]
    except KeyError:
        raise UnknownProfileError(
            f"site profile {name!r}: unknown (known: {', '.join(available_profiles())})"
        ) from None


def profile_for_url(url: str | None) -> SiteProfile:
    """The profile of the site serving `url`, by host; generic when none matches."""
    if url:
        try:
            host = urlsplit(url.strip()).hostname or ""
        except ValueError:
            host = ""
        if host:
            for profile in _PROFILES.values():
                if profile.matches_host(host):
                    return profile
    return _PROFILES["generic"]
